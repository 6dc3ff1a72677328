package org.orpo4j.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One line of {@code samples.jsonl}: an evaluation prompt with its chosen and rejected answers and the model's
 * greedy completion at {@code step} (TRL's generate_during_eval). Texts are decoded as the model sees them (special
 * tokens of the prompt kept); a final EOS is left out of the answers and the completion.
 *
 * @param index the pair's position in the evaluation data (0-based)
 */
public record GeneratedSample(long step, int index, String prompt, String chosen, String rejected,
        String completion) {

    /** The samples.jsonl line. */
    public Map<String, Object> toJson() {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", step);
        line.put("index", index);
        line.put("prompt", prompt);
        line.put("chosen", chosen);
        line.put("rejected", rejected);
        line.put("completion", completion);
        return line;
    }
}
