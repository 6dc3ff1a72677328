package org.orpo4j.runtime;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The JSON reader for files that come from anywhere (config.json, tokenizer and adapter configs, safetensors
 * headers, index files, dataset rows): nesting and numbers bounded, so a hostile file fails with a parse error
 * instead of exhausting the stack or the CPU.
 */
public final class Json {

    /** Deepest nesting accepted: HF configs nest 3 levels, chat rows with tool schemas about 10. */
    public static final int MAX_NESTING = 100;
    /** Longest number literal accepted, in characters. */
    public static final int MAX_NUMBER_LENGTH = 100;

    private static final ObjectMapper UNTRUSTED = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING)
                    .maxNumberLength(MAX_NUMBER_LENGTH).build())
            .build());

    private Json() {}

    /** A shared, thread-safe mapper with those bounds (read with it; write with any). */
    public static ObjectMapper untrusted() {
        return UNTRUSTED;
    }
}
