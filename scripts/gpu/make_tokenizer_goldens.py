#!/usr/bin/env python3
"""Golden ids for the tokenizer tests, from Hugging Face `tokenizers` and transformers'
apply_chat_template. Runs where those are installed (the GPU host); needs no network.

usage: make_tokenizer_goldens.py TOKENIZERS_DIR OUT_DIR
  TOKENIZERS_DIR holds gemma3/ and qwen3/ (tokenizer.json + tokenizer_config.json, as
  scripts/fetch-test-tokenizers.sh lays them out); writes OUT_DIR/<name>.json:
  {"encode": [{"text", "ids", "ids_special", "decoded", "decoded_skip"}],
   "chat": [{"messages", "add_generation_prompt", "text", "ids"}]}
"""
import json
import os
import sys

import tokenizers
import transformers

BASE = [
    "", " ", "  ", "   leading spaces", "trailing spaces   ", "a", "Hello", "Hello world",
    "Hello, world!", " Hello", "hello\nworld", "line one\r\nline two", "tab\tseparated\tvalues",
    "\t\tdouble tab", "mixed \t \n whitespace \r\n  runs", "\n\n\n", "a  b   c    d",
    "My order #A-1042 hasn't arrived yet.", "I'd like a refund, please.", "We'll see; they're late.",
    "DON'T SHOUT", "Error code 0x80070005 on Windows 11 (build 22631).", "3.14159", "1234567890",
    "12,345.67", "1e-5", "2026-11-30T01:12:34Z", "+1 (555) 010-9999", "$19.99", "100%",
    "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "SELECT * FROM orders WHERE id = 42;", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "<div class=\"x\">text</div>", "https://example.com/path?q=1&r=2#frag", "user@example.com",
    "C:\\Users\\name\\file.txt", "~/.bashrc && echo $HOME", "a_b-c.d/e\\f",
    "你好，世界！", "我的订单还没有到。", "日本語のテキストです。", "カタカナとひらがな", "한국어 문장입니다.",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Привет, мир!", "Γειά σου Κόσμε",
    "Ünïcödé çhàrâctérs", "naïve café résumé", "straße", "ǅ ǈ ǋ", "Ｆｕｌｌｗｉｄｔｈ", "①②③", "ﬁ ﬂ",
    "e\u0301", "\u00e9", "n\u0303o", "A\u030a", "\u1e9b\u0323", "ᄀ\u1161", "\u2126 \u212b",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷🇯🇵", "emoji 😀 in text 🎉!", "👩🏿‍💻 coding",
    "\u200b zero width", "\u00a0nbsp", "\u3000ideographic space", "\ufeffbom",
    "<start_of_turn>user\nHi<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unk>",
    "<|im_start|>system\nYou are helpful.<|im_end|>", "<|endoftext|>", "<|im_end|>",
    "text<end_of_turn>more", " <start_of_turn>", "<start_of_turn> ", "<|im_start|>",
    "<think>\nreasoning\n</think>", "<tool_call>{}</tool_call>", "<<nested>>", "< bos >",
    "∑ ∫ √ ≤ ≥ ≠ ∞", "→ ← ↑ ↓", "©®™", "♠♥♦♣", "¿Qué? ¡Sí!", "«quotes» „double“ ‘single’",
    "......", "!!!???", "---", "___", "***bold***", "a" * 100, "ab" * 50, " " * 33, "\n" * 7,
    "The quick brown fox jumps over the lazy dog.", "Thank you for contacting support.",
]


def build_strings():
    strings = list(BASE)
    extra = []
    for i, s in enumerate(BASE[:60]):
        extra.append(" " + s)
        extra.append(s + "\n")
        extra.append(s + " " + BASE[(i * 7 + 3) % len(BASE)])
    for i in range(40):
        a, b, c = BASE[i % len(BASE)], BASE[(i * 5 + 11) % len(BASE)], BASE[(i * 13 + 29) % len(BASE)]
        extra.append(a + "\t" + b + "\r\n" + c)
    seen, out = set(), []
    for s in strings + extra:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi there! How can I help?"},
     {"role": "user", "content": "My order is late."}],
    [{"role": "system", "content": "You are a helpful customer service agent."},
     {"role": "user", "content": "Where is order #A-1042?"}],
    [{"role": "system", "content": "You are a technical support specialist."},
     {"role": "user", "content": "My laptop shows error 0x80070005."},
     {"role": "assistant", "content": "Sorry to hear that. Which Windows version are you on?"},
     {"role": "user", "content": "Windows 11, build 22631."},
     {"role": "assistant", "content": "Thanks. Please run the update troubleshooter."},
     {"role": "user", "content": "It worked, thank you!"}],
    [{"role": "user", "content": "  padded content with spaces  "},
     {"role": "assistant", "content": "\nLeading newline reply\n"}, {"role": "user", "content": "你好 😀"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Price of the Pro plan?"},
     {"role": "assistant", "content": "$19.99 per month."}],
]


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    strings = build_strings()
    print("tokenizers", tokenizers.__version__, "transformers", transformers.__version__,
          "strings", len(strings))
    for name in ("gemma3", "qwen3"):
        directory = os.path.join(src, name)
        tok = tokenizers.Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        encode = []
        for s in strings:
            ids = tok.encode(s, add_special_tokens=False).ids
            ids_special = tok.encode(s, add_special_tokens=True).ids
            encode.append({"text": s, "ids": ids, "ids_special": ids_special,
                           "decoded": tok.decode(ids_special, skip_special_tokens=False),
                           "decoded_skip": tok.decode(ids_special, skip_special_tokens=True)})
        hf = transformers.AutoTokenizer.from_pretrained(directory)
        chat = []
        for messages in CONVERSATIONS:
            for add_generation_prompt in (False, True):
                if messages[-1]["role"] == "assistant" and add_generation_prompt is False:
                    pass
                text = hf.apply_chat_template(messages, tokenize=False,
                                              add_generation_prompt=add_generation_prompt)
                ids = hf.apply_chat_template(messages, tokenize=True,
                                             add_generation_prompt=add_generation_prompt)
                if isinstance(ids, dict) or hasattr(ids, "keys"):
                    ids = ids["input_ids"]
                chat.append({"messages": messages, "add_generation_prompt": add_generation_prompt,
                             "text": text, "ids": list(ids)})
        with open(os.path.join(out, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump({"tokenizers_version": tokenizers.__version__, "encode": encode,
                       "chat": chat}, f, ensure_ascii=False, indent=0)
        print(name, "encode cases", len(encode), "chat cases", len(chat))


if __name__ == "__main__":
    main()
