package org.orpo4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.GenerationConfig;
import org.orpo4j.model.Generator;
import org.orpo4j.runtime.GradMode;

/**
 * TRL's generate_during_eval: after each evaluation, the model's greedy completions of the first
 * {@code generateSamples} evaluation prompts, appended to {@code samples.jsonl} and handed to the listeners. The
 * same prompts every time (TRL draws new ones), so a reader watches one answer change. Generation runs without
 * gradients and with LoRA dropout off, as evaluation does.
 */
final class SampleGeneration implements AutoCloseable {

    /** The file name inside the output folder. */
    static final String FILE = "samples.jsonl";

    private final CausalLm model;
    private final OrpoConfig config;
    private final PairSource eval;
    private final HfTokenizer tokenizer;
    private final Set<Long> eosIds = new LinkedHashSet<>();
    private final MetricsWriter file;

    private SampleGeneration(CausalLm model, OrpoConfig config, PairSource eval, HfTokenizer tokenizer,
            MetricsWriter file) {
        this.model = model;
        this.config = config;
        this.eval = eval;
        this.tokenizer = tokenizer;
        this.file = file;
        tokenizer.eosId().ifPresent(eosIds::add);
        model.config().eosTokenIds().forEach(id -> eosIds.add(id.longValue()));
    }

    /** Refuses, before training starts, a generateDuringEval run that could not generate. */
    static void check(OrpoConfig config, PairSource eval, Path tokenizerDir) {
        if (!config.get(Settings.GENERATE_DURING_EVAL)) {
            return;
        }
        if (eval == null) {
            throw new IllegalArgumentException("generateDuringEval needs evaluation data to take its prompts from");
        }
        if (tokenizerDir == null) {
            throw new IllegalArgumentException("generateDuringEval decodes its samples with the tokenizer: give the"
                    + " trainer its tokenizerDir");
        }
        if (eval.size() == 0 || eval.pair(0).isEmpty()) {
            throw new IllegalArgumentException("generateDuringEval needs the evaluation pairs' tokens; this"
                    + " evaluation source only gives batches");
        }
    }

    /**
     * The samples of this run, or null when generateDuringEval is off; samples.jsonl continued after a resume from
     * {@code resumedStep} (lines past it dropped), started afresh when {@code resumedStep} is negative.
     */
    static SampleGeneration open(OrpoConfig config, CausalLm model, PairSource eval, Path tokenizerDir, Path out,
            long resumedStep) throws IOException {
        if (!config.get(Settings.GENERATE_DURING_EVAL) || eval == null) {
            return null;
        }
        Path path = out.resolve(FILE);
        MetricsWriter file = resumedStep >= 0 ? MetricsWriter.resume(path, resumedStep) : MetricsWriter.create(path);
        try {
            return new SampleGeneration(model, config, eval, HfTokenizer.load(tokenizerDir), file);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Generates the samples of {@code step} and appends them to samples.jsonl. */
    List<GeneratedSample> run(long step) throws IOException {
        List<GeneratedSample> samples = new ArrayList<>();
        Optional<LoraModel> lora = LoraModel.of(model);
        boolean training = lora.map(LoraModel::training).orElse(false);
        lora.ifPresent(l -> l.train(false));
        try (GradMode noGrad = GradMode.enabled(false)) {
            Generator generator = new Generator(model);
            for (int i = 0; i < Math.min(config.get(Settings.GENERATE_SAMPLES), eval.size()); i++) {
                TokenizedPair pair = eval.pair(i).orElseThrow();
                long[] completion = generator.generate(pair.prompt(), GenerationConfig.greedy(budget(pair), eosIds));
                samples.add(new GeneratedSample(step, i, tokenizer.decode(pair.prompt()), answer(pair.chosen()),
                        answer(pair.rejected()), answer(completion)));
            }
        } finally {
            lora.ifPresent(l -> l.train(training));
        }
        for (GeneratedSample s : samples) {
            file.write(s.toJson());
        }
        return samples;
    }

    /** New tokens for one sample: generateMaxNewTokens, else up to maxLength with the prompt (TRL's max_length). */
    private int budget(TokenizedPair pair) {
        Integer max = config.get(Settings.GENERATE_MAX_NEW_TOKENS);
        return max != null ? max : Math.max(1, config.maxLength() - pair.prompt().length);
    }

    /** The text of an answer, a final EOS left out. */
    private String answer(long[] ids) {
        int n = ids.length;
        return tokenizer.decode(n > 0 && eosIds.contains(ids[n - 1]) ? Arrays.copyOf(ids, n - 1) : ids);
    }

    @Override
    public void close() throws IOException {
        try {
            file.close();
        } finally {
            tokenizer.close();
        }
    }
}
