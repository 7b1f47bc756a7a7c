#include "worker/reward/lexicons.h"

#include "common/strings.h"

namespace gspo::reward {
namespace {

// A list written as one text, phrases separated by ", " (the way docs/tasks.md prints it).
const env::PhraseList& Make(const char* phrases) {
  std::vector<std::string> list;
  for (const std::string& phrase : common::Split(phrases, ',')) {
    list.push_back(common::Trim(phrase));
  }
  return *new env::PhraseList(list);
}

}  // namespace

const env::PhraseList& EmpathyPhrases() {
  static const env::PhraseList& list = Make(
      "sorry, apologize, apologise, apologies, i understand, understandable, i can imagine, i can "
      "see why, i hear you, frustrating, frustration, inconvenience, that must be, thank you for "
      "your patience, thanks for your patience, i appreciate, i know how, stressful, "
      "disappointing, your concern");
  return list;
}

const env::PhraseList& DismissivePhrases() {
  static const env::PhraseList& list = Make(
      "calm down, not my problem, you should have, as i already said, as i said, obviously, your "
      "fault, nothing i can do, deal with it, read the manual, you need to relax");
  return list;
}

const env::PhraseList& ActionPhrases() {
  static const env::PhraseList& list = Make(
      "i will, i'll, i have, i've, i can, let me, we will, we'll, here's how, here is how, next "
      "step, next steps, follow these steps, try, go to, click, select, open, restart, reinstall, "
      "install, update, reset, run, check, enter, turn on, turn off, connect, download, fix, move,"
      " send, schedule, book, reserve, set up, sign you up, add, switch, upgrade, quote, demo, "
      "trial, enrol, process, ship, arrange, apply, cancel, replace, refund, track, confirm, "
      "escalate, recommend, call");
  return list;
}

const env::PhraseList& TimeframePhrases() {
  static const env::PhraseList& list = Make(
      "today, tonight, tomorrow, within, hour, hours, minutes, business day, business days, right "
      "away, immediately, this week, next week, shortly");
  return list;
}

const env::PhraseList& VaguePhrases() {
  static const env::PhraseList& list = Make(
      "maybe, i don't know, not sure, no idea, i guess, perhaps, hard to say, can't help, nothing "
      "i can do, try again later");
  return list;
}

const env::PhraseList& InformalWords() {
  static const env::PhraseList& list = Make(
      "gonna, wanna, gotta, lol, lmao, omg, dude, bro, yeah, yep, nope, ya, u, ur, thx, pls, plz, "
      "btw, kinda, sorta, ain't, y'all, cuz, idk, tbh");
  return list;
}

const env::PhraseList& ProfaneWords() {
  static const env::PhraseList& list = Make(
      "damn, hell, crap, shit, fuck, fucking, stupid, idiot, dumb, moron, sucks, wtf, bullshit");
  return list;
}

const env::PhraseList& CourtesyPhrases() {
  static const env::PhraseList& list = Make(
      "please, thank you, thanks, you're welcome, happy to help, glad to help, my pleasure, "
      "appreciate, kindly, would you mind, have a great day, have a nice day, have a good day, "
      "hello, hi, good morning, good afternoon, good evening, anything else");
  return list;
}

const env::PhraseList& RudePhrases() {
  static const env::PhraseList& list = Make(
      "shut up, whatever, not my problem, deal with it, calm down, stupid, idiot, you people, i "
      "don't care, figure it out, obviously");
  return list;
}

const env::PhraseList& UnsafePhrases() {
  static const env::PhraseList& list = Make(
      "tell me your password, send me your password, share your password, give me your password, "
      "what is your password, what's your password, your full card number, cvv, social security "
      "number, guaranteed, i promise");
  return list;
}

const std::vector<std::string>& TemplateTokens() {
  static const auto* v = new std::vector<std::string>{"<start_of_turn>",
                                                      "<end_of_turn>",
                                                      "<|im_start|>",
                                                      "<|im_end|>",
                                                      "<|eot_id|>",
                                                      "<|start_header_id|>",
                                                      "<|end_header_id|>",
                                                      "<|begin_of_text|>",
                                                      "<|endoftext|>",
                                                      "<bos>",
                                                      "<eos>",
                                                      "</s>",
                                                      "[INST]",
                                                      "[/INST]",
                                                      "<<SYS>>"};
  return *v;
}

const std::vector<std::string>& RoleLabels() {
  static const auto* v = new std::vector<std::string>{
      "user:", "assistant:", "customer:", "agent:", "system:", "human:", "model:"};
  return *v;
}

}  // namespace gspo::reward
