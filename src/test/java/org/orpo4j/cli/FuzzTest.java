package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.CheckpointReader;

/**
 * Seeded fuzzing of what orpo4j reads from the internet: 2,400 mutations (truncation, bit flips, length lies, huge
 * numbers, deep nesting, wrong types) of a model's safetensors file, its config.json, its tokenizer_config.json and
 * a JSONL preference file. Each must load, or fail with a one-line error naming the file, within 10 s and without
 * an OutOfMemoryError; every 40th goes through the CLI as well, which must exit 0, 1 or 2.
 */
class FuzzTest {

    private enum Kind { SAFETENSORS, CONFIG, TOKENIZER_CONFIG, ROWS }

    private static final int CASES = 2400;

    @TempDir
    static Path tmp;
    static Path model;
    static Path rows;
    static Map<Kind, byte[]> originals = new EnumMap<>(Kind.class);
    static NDManager manager;
    static ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fuzz-case");
        t.setDaemon(true); // a hung case must not keep the JVM alive
        return t;
    });

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        rows = Cli.demoData(tmp, DemoAssets.TRAIN, 6);
        originals.put(Kind.SAFETENSORS, Files.readAllBytes(model.resolve("model.safetensors")));
        originals.put(Kind.CONFIG, Files.readAllBytes(model.resolve("config.json")));
        originals.put(Kind.TOKENIZER_CONFIG, Files.readAllBytes(model.resolve("tokenizer_config.json")));
        originals.put(Kind.ROWS, Files.readAllBytes(rows));
        manager = DjlRuntime.newManager(Device.cpu());
    }

    @AfterAll
    static void tearDown() {
        manager.close();
        worker.shutdownNow();
    }

    @Test
    void mutatedInputsLoadOrFailInOneLineNamingTheFile() throws Exception {
        Random random = new Random(20261129);
        Map<Kind, int[]> outcomes = new EnumMap<>(Kind.class); // loaded, refused
        for (Kind k : Kind.values()) {
            outcomes.put(k, new int[2]);
        }
        long start = System.nanoTime();
        for (int i = 0; i < CASES; i++) {
            Kind kind = Kind.values()[i % Kind.values().length];
            byte[] mutated = Mutator.mutate(originals.get(kind), random, kind == Kind.SAFETENSORS);
            Path dir = tmp.resolve("case-" + i);
            Path file = prepare(dir, kind, mutated);
            String what = "case " + i + " (" + kind + ", " + Mutator.last + ")";
            int index = i;
            Future<Boolean> run = worker.submit(() -> load(kind, dir, file, index));
            try {
                boolean loaded = run.get(10, TimeUnit.SECONDS);
                outcomes.get(kind)[loaded ? 0 : 1]++;
            } catch (TimeoutException e) {
                fail(what + ": no answer in 10 s");
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                fail(what + ": " + cause, cause);
            }
            if (i % 40 == 0) {
                int code = cli(kind, dir, file);
                assertTrue(code == 0 || code == 1 || code == 2, what + ": CLI exit code " + code);
            }
            deleteTree(dir);
        }
        System.out.printf("fuzz: %d cases in %.1f s; loaded/refused %s%n", CASES, (System.nanoTime() - start) / 1e9,
                outcomes.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()[0] + "/" + e.getValue()[1])
                        .toList());
    }

    /** A copy of the tiny model folder (or the rows file) with the mutated file in place. */
    private static Path prepare(Path dir, Kind kind, byte[] mutated) throws Exception {
        Files.createDirectories(dir);
        if (kind == Kind.ROWS) {
            return Files.write(dir.resolve("rows.jsonl"), mutated);
        }
        for (String name : new String[] {"config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json"}) {
            Files.copy(model.resolve(name), dir.resolve(name));
        }
        String name = switch (kind) {
            case SAFETENSORS -> "model.safetensors";
            case CONFIG -> "config.json";
            default -> "tokenizer_config.json";
        };
        return Files.write(dir.resolve(name), mutated);
    }

    /**
     * Loads the case as orpo4j would; true when it loaded, false when it was refused with a one-line message
     * naming the file; any other outcome (another exception type, a message without the file) fails the test.
     */
    private static boolean load(Kind kind, Path dir, Path file, int i) throws Exception {
        try {
            switch (kind) {
                case SAFETENSORS -> {
                    try (CheckpointReader reader = CheckpointReader.open(dir)) {
                        for (String name : reader.names()) {
                            reader.readFloats(name);
                        }
                    }
                    try (CausalLm lm = CausalLm.load(dir, manager)) {
                        lm.parameters();
                    }
                }
                case CONFIG -> {
                    ModelConfig.load(file);
                    if (i % 8 == 1) {
                        try (CausalLm lm = CausalLm.load(dir, manager)) {
                            lm.parameters();
                        }
                    }
                }
                case TOKENIZER_CONFIG -> {
                    try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
                        if (tokenizer.chatTemplate().isPresent()) {
                            tokenizer.chatTemplate().get().render(List.of(new ChatMessage("user", "hi"),
                                    new ChatMessage("assistant", "hello")), true);
                        }
                    }
                }
                case ROWS -> {
                    try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
                        PreferenceDataset.load(file, tokenizer, DataOptions.defaults());
                    }
                }
            }
            return true;
        } catch (OutOfMemoryError e) {
            throw new AssertionError("OutOfMemoryError", e);
        } catch (IllegalArgumentException | IllegalStateException | java.io.IOException
                | java.io.UncheckedIOException | org.orpo4j.data.BadDataException
                | org.orpo4j.data.template.TemplateException
                | org.orpo4j.safetensors.SafetensorsException e) {
            if (e instanceof org.orpo4j.data.template.TemplateException t && t.raisedByTemplate()) {
                return false; // the (mutated) template's own raise_exception: it speaks of the messages
            }
            String message = String.valueOf(e.getMessage());
            if (message.lines().count() != 1 || !message.contains(file.getFileName().toString())) {
                throw new AssertionError(e.getClass().getSimpleName() + " not one line naming "
                        + file.getFileName() + ": " + message, e);
            }
            return false;
        }
    }

    /** The same input through the CLI: eval for model files and rows, chat-template for the tokenizer config. */
    private static int cli(Kind kind, Path dir, Path file) throws Exception {
        Path messages = Files.writeString(dir.resolve("m.json"),
                "[{\"role\":\"user\",\"content\":\"hi\"}]", StandardCharsets.UTF_8);
        List<String> args = new ArrayList<>();
        switch (kind) {
            case SAFETENSORS, CONFIG -> args.addAll(List.of("eval", "--model", dir.toString(), "--data",
                    rows.toString()));
            case TOKENIZER_CONFIG -> args.addAll(List.of("chat-template", "--model", dir.toString(),
                    "--messages", messages.toString()));
            case ROWS -> args.addAll(List.of("eval", "--model", model.toString(), "--data", file.toString()));
        }
        return Cli.run(args.toArray(String[]::new)).exitCode();
    }

    private static void deleteTree(Path dir) throws Exception {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
