// What an agent's message does in a scenario, by the lexical rules of text_match.h: does it
// resolve the case, which facts does it ask for or use, which forbidden promises does it make.
// The environment ends episodes and the simulated user answers by these; the rewards score by
// the same functions, so the two never disagree.
//
// Stateless functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "worker/env/scenario.h"

namespace gspo::env {

// Resolution phrases used for scenarios that list no `resolution` conditions.
const std::vector<std::string>& GenericResolutionPhrases();

// True when `text` meets `condition`: every " & "-separated part of it occurs in `text`, not
// negated.
bool MeetsCondition(std::string_view condition, std::string_view text);

// True when `text` meets one of the scenario's resolution conditions (or, when it has none, one
// of the generic phrases).
bool MeetsResolution(const Scenario& scenario, std::string_view text);

// Names of the facts whose value occurs in `text` (as words: "A-1042" matches "a 1042"), in name
// order.
std::vector<std::string> MentionedFacts(const Scenario& scenario, std::string_view text);

// Phrases that make a sentence a request even without a question mark.
const std::vector<std::string>& RequestPhrases();

// Names of the facts `text` asks for, in name order. A sentence asks for a fact when it is a
// request (ends with '?' or contains a request phrase such as "could you" or "please provide")
// and names the fact: the fact name's words are split at '_'; the last one is its head. The
// sentence must contain
//   - for a one-word name, that word ("email");
//   - else the head together with another of the name's words ("order number"), or every word
//     but the head ("which order?"); a head that is not generic (generic: number, id, name,
//     date, code, address, type, version, model, plan, amount, time, size, level, status,
//     details) is enough by itself ("serial" for product_serial).
// Words match with a plural "s" and through a few synonyms: number/id, email/mail,
// phone/telephone/mobile/cell, zip/postcode/postal.
std::vector<std::string> RequestedFacts(const Scenario& scenario, std::string_view text);

// The scenario's forbidden phrases that occur in `text`, not negated, in list order.
std::vector<std::string> ForbiddenPromises(const Scenario& scenario, std::string_view text);

}  // namespace gspo::env
