package org.orpo4j.data;

/**
 * How preference rows are read and tokenized. Defaults are TRL's ORPOConfig (max_length 1024, max_prompt_length
 * 512, keep_end) and fail-on-bad-data.
 */
public record DataOptions(int maxLength, int maxPromptLength, Integer maxCompletionLength,
        TruncationMode truncationMode, String promptField, String chosenField, String rejectedField,
        BadDataPolicy badData, int threads) {

    public DataOptions {
        if (maxLength <= 0 || maxPromptLength <= 0) {
            throw new IllegalArgumentException("max_length and max_prompt_length must be positive");
        }
        if (maxPromptLength > maxLength) {
            throw new IllegalArgumentException("max_prompt_length (" + maxPromptLength + ") > max_length ("
                    + maxLength + ")");
        }
        if (maxCompletionLength != null && maxCompletionLength <= 0) {
            throw new IllegalArgumentException("max_completion_length must be positive");
        }
        if (threads <= 0) {
            throw new IllegalArgumentException("threads must be positive");
        }
    }

    /** TRL's defaults. */
    public static DataOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder().maxLength(maxLength).maxPromptLength(maxPromptLength)
                .maxCompletionLength(maxCompletionLength).truncationMode(truncationMode).promptField(promptField)
                .chosenField(chosenField).rejectedField(rejectedField).badData(badData).threads(threads);
    }

    public static final class Builder {
        private int maxLength = 1024;
        private int maxPromptLength = 512;
        private Integer maxCompletionLength;
        private TruncationMode truncationMode = TruncationMode.KEEP_END;
        private String promptField = "prompt";
        private String chosenField = "chosen";
        private String rejectedField = "rejected";
        private BadDataPolicy badData = BadDataPolicy.FAIL;
        private int threads = Runtime.getRuntime().availableProcessors();

        public Builder maxLength(int v) {
            maxLength = v;
            return this;
        }

        public Builder maxPromptLength(int v) {
            maxPromptLength = v;
            return this;
        }

        /** Caps each answer (after EOS) before the max_length rules; null for no cap. */
        public Builder maxCompletionLength(Integer v) {
            maxCompletionLength = v;
            return this;
        }

        public Builder truncationMode(TruncationMode v) {
            truncationMode = v;
            return this;
        }

        public Builder promptField(String v) {
            promptField = v;
            return this;
        }

        public Builder chosenField(String v) {
            chosenField = v;
            return this;
        }

        public Builder rejectedField(String v) {
            rejectedField = v;
            return this;
        }

        public Builder badData(BadDataPolicy v) {
            badData = v;
            return this;
        }

        /** Tokenizer threads (default: all cores). */
        public Builder threads(int v) {
            threads = v;
            return this;
        }

        public DataOptions build() {
            return new DataOptions(maxLength, maxPromptLength, maxCompletionLength, truncationMode, promptField,
                    chosenField, rejectedField, badData, threads);
        }
    }
}
