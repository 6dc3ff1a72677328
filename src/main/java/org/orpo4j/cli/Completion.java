package org.orpo4j.cli;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.GenerationConfig;
import org.orpo4j.model.Generator;

/**
 * Text in, text out over {@link Generator}, tokenized as transformers does: a plain prompt gets the BOS token
 * (add_special_tokens), a chat is rendered with its template (which places its own special tokens) and the
 * assistant header. Generation stops at the tokenizer's or the config's EOS ids, which are not printed.
 */
final class Completion {

    private final CausalLm model;
    private final HfTokenizer tokenizer;
    private final Set<Long> eosIds = new LinkedHashSet<>();

    Completion(CausalLm model, HfTokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        tokenizer.eosId().ifPresent(eosIds::add);
        model.config().eosTokenIds().forEach(id -> eosIds.add(id.longValue()));
    }

    /** The model's answer to a chat. */
    String chat(List<ChatMessage> messages, GenerationConfig settings) {
        String rendered = tokenizer.chatTemplate().orElseThrow(() -> new IllegalArgumentException(
                tokenizer.directory() + ": --chat needs a chat_template in tokenizer_config.json"))
                .render(messages, true);
        return generate(tokenizer.encode(rendered), settings);
    }

    /** The continuation of a plain text. */
    String continueText(String prompt, GenerationConfig settings) {
        long[] ids = tokenizer.encode(prompt);
        if (tokenizer.bosId().isPresent() && (ids.length == 0 || ids[0] != tokenizer.bosId().getAsLong())) {
            long[] withBos = new long[ids.length + 1];
            withBos[0] = tokenizer.bosId().getAsLong();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            ids = withBos;
        }
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt is empty after tokenization");
        }
        return generate(ids, settings);
    }

    private String generate(long[] promptIds, GenerationConfig settings) {
        GenerationConfig withEos = new GenerationConfig(settings.maxNewTokens(), settings.temperature(),
                settings.topP(), settings.seed(), eosIds);
        long[] out = new Generator(model).generate(promptIds, withEos);
        int n = out.length;
        if (n > 0 && eosIds.contains(out[n - 1])) {
            n--;
        }
        return tokenizer.decode(Arrays.copyOf(out, n));
    }
}
