// A two-turn customer-service trajectory whose component values are worked out by hand in
// multi_objective_reward_test.cc.
#pragma once

#include "worker/env/scenario.h"
#include "worker/reward/trajectory.h"

namespace gspo::reward::test {

inline env::Scenario LateParcel() {
  env::Scenario s;
  s.id = "late-parcel";
  s.task = "customer_service";
  s.opening_message = "My parcel is late.";
  s.facts = {{"order_number", "A-1042"}};
  s.resolution = {"send a replacement"};
  s.forbidden = {"full refund"};
  s.reference = "Send a replacement today by express.";
  return s;
}

// system, user, assistant T1, user, assistant T2.
inline Trajectory TwoTurns(const env::Scenario* scenario, const std::string& t1,
                           const std::string& t2) {
  Trajectory t;
  t.id = "t";
  t.scenario = scenario;
  t.messages = {{env::Role::kSystem, "Be helpful.", 0},
                {env::Role::kUser, "My parcel is late.", 0},
                {env::Role::kAssistant, t1, 0},
                {env::Role::kUser, "It's A-1042.", 0},
                {env::Role::kAssistant, t2, 0}};
  return t;
}

inline constexpr char kT1[] = "Sorry your parcel is late. Could you give me your order number?";
inline constexpr char kT2[] = "Thanks! I will send a replacement today.";

}  // namespace gspo::reward::test
