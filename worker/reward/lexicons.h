// The word lists of the lexical reward components. Matching follows env/text_match.h: whole
// words, case-insensitive, and only occurrences that are not negated ("I'm not sorry" does not
// count as "sorry"). Each list counts a phrase once however often it occurs. docs/tasks.md
// prints every list; a change here is a change to the rewards and belongs there too.
// Immutable data built on first use; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "worker/env/text_match.h"

namespace gspo::reward {

const env::PhraseList& EmpathyPhrases();     // "sorry", "i understand", "frustrating", ...
const env::PhraseList& DismissivePhrases();  // "calm down", "not my problem", ...
const env::PhraseList& ActionPhrases();      // "i will", "let me", "restart", "refund", ...
const env::PhraseList& TimeframePhrases();   // "today", "within", "business days", ...
const env::PhraseList& VaguePhrases();       // "maybe", "not sure", "no idea", ...
const env::PhraseList& InformalWords();      // "gonna", "lol", "yeah", ...
const env::PhraseList& ProfaneWords();       // "damn", "stupid", ...
const env::PhraseList& CourtesyPhrases();    // "please", "thank you", "happy to help", ...
const env::PhraseList& RudePhrases();        // "shut up", "whatever", "you people", ...
const env::PhraseList& UnsafePhrases();      // credential requests, "guaranteed", "i promise"

// Chat-template and role tokens that must never appear in a reply (matched as exact text).
const std::vector<std::string>& TemplateTokens();
// Role labels that must not start a line of a reply ("User:", "Assistant:"; any case).
const std::vector<std::string>& RoleLabels();

}  // namespace gspo::reward
