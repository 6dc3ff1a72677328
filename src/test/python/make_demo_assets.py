"""Writes the demo's bundled assets: a small word-level tokenizer with a ChatML template, and a synthetic
preference set where the chosen answers are helpful and polite and the rejected ones curt.

Run from the repository root with any Python 3; the output is committed, Python is not needed at run time:
    python3 src/test/python/make_demo_assets.py
"""
import json
import random
import re
from pathlib import Path

OUT = Path("src/main/resources/org/orpo4j/demo")
SEED = 7

CATEGORIES = {
    "an animal that many people love": [
        "cats", "dogs", "horses", "rabbits", "owls", "dolphins", "wolves", "foxes", "otters", "pandas",
        "tigers", "eagles", "penguins", "turtles", "bees", "frogs"],
    "a food enjoyed around the world": [
        "bread", "rice", "pasta", "cheese", "apples", "soup", "pizza", "noodles", "honey", "chocolate",
        "tea", "coffee", "oranges", "beans", "mangoes", "pancakes"],
    "a place worth visiting": [
        "Paris", "Rome", "Tokyo", "Cairo", "Lisbon", "Oslo", "Lima", "Sydney", "Vienna", "Prague",
        "Dublin", "Madrid", "Athens", "Quebec", "Kyoto", "Seville"],
    "a hobby that brings people joy": [
        "gardening", "painting", "chess", "cycling", "hiking", "knitting", "swimming", "cooking", "reading",
        "dancing", "fishing", "singing", "climbing", "sailing", "baking", "writing"],
}
PROMPTS = [
    "Tell me about {t}.",
    "Can you explain {t}?",
    "What do you know about {t}?",
    "Give me a fact about {t}.",
    "I want to learn about {t}.",
]
CHOSEN = [
    "Of course! {T} is {fact}. I hope this helps!",
    "Happy to help! {T} is {fact}. Ask me anything else!",
    "Great question! {T} is {fact}. I hope this helps!",
]
REJECTED = [
    "No. Ask someone else about {t}.",
    "I do not care about {t}.",
    "Whatever. {T} is boring.",
    "Figure out {t} yourself.",
]
SYSTEM = "You are a helpful assistant."

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]


def pairs_for(topics, rng):
    rows = []
    for fact, t in topics:
        for prompt in PROMPTS:
            T = t[0].upper() + t[1:]
            rows.append({
                "prompt": [{"role": "system", "content": SYSTEM},
                           {"role": "user", "content": prompt.format(t=t)}],
                "chosen": [{"role": "assistant", "content": rng.choice(CHOSEN).format(T=T, fact=fact)}],
                "rejected": [{"role": "assistant", "content": rng.choice(REJECTED).format(t=t, T=T)}],
            })
    rng.shuffle(rows)
    return rows


def words(text):
    return re.findall(r"\w+|[^\w\s]+", text)


def main():
    rng = random.Random(SEED)
    train_topics, heldout_topics = [], []
    for fact, topics in CATEGORIES.items():
        topics = topics[:]
        rng.shuffle(topics)
        heldout_topics += [(fact, t) for t in topics[:3]]
        train_topics += [(fact, t) for t in topics[3:]]
    train = pairs_for(train_topics, rng)
    heldout = pairs_for(heldout_topics, rng)

    vocab = {}
    for tok in SPECIALS:
        vocab[tok] = len(vocab)
    texts = [SYSTEM, "system user assistant"]
    for fact, topics in CATEGORIES.items():
        for t in topics:
            texts += [p.format(t=t) for p in PROMPTS]
            texts += [c.format(T=t[0].upper() + t[1:], fact=fact) for c in CHOSEN]
            texts += [r.format(t=t, T=t[0].upper() + t[1:]) for r in REJECTED]
    for w in sorted({w for text in texts for w in words(text)}):
        vocab.setdefault(w, len(vocab))

    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for s in SPECIALS],
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        # joins words with spaces, then transformers' clean_up_tokenization glues punctuation back ("Hi !" -> "Hi!")
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
    }
    config = {
        "model_max_length": 512,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": "<unk>",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1, ensure_ascii=False) + "\n")
    (OUT / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name, rows in (("train.jsonl", train), ("heldout.jsonl", heldout)):
        with open(OUT / name, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    print(f"vocab {len(vocab)}, train {len(train)}, heldout {len(heldout)}")


if __name__ == "__main__":
    main()
