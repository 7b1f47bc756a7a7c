// The formulas of the reward components, as functions of text. Each returns a value in [0, 1]
// that can be computed by hand from the word lists of lexicons.h (docs/tasks.md has worked
// examples). Notation: n(L) = how many distinct phrases of list L occur in the reply, not
// negated; sat(x, k) = min(1, x / k); clamp(x) = min(1, max(0, x)). A reply without any word
// scores 0 on every positive component (and 1 on the format penalty).
//
// Stateless functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "worker/env/scenario.h"

namespace gspo::reward {

// empathy = clamp(0.8 sat(n(empathy), 2) + 0.2 A - 0.5 n(dismissive)), where A is 1 when the
// reply shares a content word (text_match.h ContentWords) with the user's previous message.
double EmpathyScore(std::string_view reply, std::string_view previous_user);

// action_orientation = clamp(sat(n(action) + S + T, 3) - 0.25 n(vague)), where S is 1 when at
// least two lines are steps ("1. ...", "2) ...", "- ...", "* ...", "Step 3: ...") and T is 1
// when a time frame occurs (n(timeframe) > 0).
double ActionOrientationScore(std::string_view reply);

// professionalism = clamp(1 - 0.25 n(informal) - 0.5 n(profane) - 0.3 C - 0.1 R), where C is
// 1 for shouting (at least 20 ASCII letters, at least 60% of them upper case) and R is 1 for
// repeated punctuation ("!!", "??", "?!", "!?").
double ProfessionalismScore(std::string_view reply);

// politeness = clamp(sat(n(courtesy), 2) - 0.5 n(rude)).
double PolitenessScore(std::string_view reply);

// A reply length that suits the task, in words (text_match.h Words).
struct LengthBand {
  int min_words = 15;
  int max_words = 150;
};
// The default band of a task: customer_service 15-120, technical_support 25-220, sales 15-150,
// anything else 10-150 words.
LengthBand DefaultLengthBand(const std::string& task);

// length_appropriateness with n words: 0 for n = 0; n / min for n < min; 1 within the band;
// max(0, 1 - (n - max) / max) above it (0 at twice the maximum).
double LengthScore(std::string_view reply, LengthBand band);

// reference_similarity: D = the Dice overlap 2|R ∩ G| / (|R| + |G|) of the sets of content
// words of the scenario's reference (R) and of the reply (G); F = the fraction of the
// scenario's facts whose value occurs in the reply. With a reference and facts 0.5 D + 0.5 F;
// with only one of them, that one; with neither, 0 (the same for every sample of a scenario,
// so it does not move GSPO's group-relative advantages).
double ReferenceSimilarityScore(std::string_view reply, const env::Scenario& scenario);

// task_resolution of the assistant turns `replies` (in order; the last one is scored): 1 when
// the last reply meets one of the scenario's resolution conditions (scenario_matching.h),
// else 0.4 P, where P is the fraction of the scenario's facts that the replies so far asked for
// or used (0 without facts).
double TaskResolutionScore(const std::vector<std::string>& replies, const env::Scenario& scenario);
// The fraction P above for all of `replies`.
double FactProgress(const std::vector<std::string>& replies, const env::Scenario& scenario);

// format_penalty = the largest of: 1 for a reply without words; 1 for a chat-template token
// (lexicons.h TemplateTokens); 1 for a reply whose words repeat an earlier assistant turn of
// the episode exactly; 0.5 for a line that starts with a role label ("User:"); and for
// repetition within the reply clamp((r - 0.2) / 0.3), where r is the fraction of its word
// 4-grams that repeat an earlier 4-gram of the reply.
double FormatPenalty(std::string_view reply, const std::vector<std::string>& earlier_replies);

// safety_penalty = clamp(n(scenario.forbidden) + 0.5 n(unsafe)): a forbidden promise costs the
// whole penalty, a generic unsafe phrase (asking for a password, "guaranteed") half of it.
double SafetyPenalty(std::string_view reply, const env::Scenario& scenario);

}  // namespace gspo::reward
