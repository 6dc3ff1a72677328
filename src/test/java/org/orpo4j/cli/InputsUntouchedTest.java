package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.train.OrpoConfig;

/**
 * train, merge, eval and generate never modify what they read: every input folder and file is checksummed (names,
 * bytes) before and after each command, with and without {@code --overwrite-output-dir}; an output that is, holds
 * or sits inside an input is refused in one line before any file is touched.
 */
class InputsUntouchedTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;
    static Path adapter;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        data = Cli.demoData(tmp, DemoAssets.TRAIN, 8);
        adapter = tmp.resolve("adapter");
        Cli.run(train(adapter, "--use-peft", "--lora-r", "4")).assertSuccess();
    }

    /** {@code train} of the tiny model on the data into {@code out}, 2 steps unless {@code extra} says otherwise. */
    private static String[] train(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--model", model.toString(), "--data",
                data.toString(), "--output", out.toString(), "--batch-size", "2", "--save-every", "1"));
        if (!List.of(extra).contains("--max-steps")) {
            args.addAll(List.of("--max-steps", "2"));
        }
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /** The state of every input: each file under the model, adapter and tokenizer folders, and the data file. */
    private static Map<String, String> inputs() throws Exception {
        Map<String, String> sums = new TreeMap<>();
        for (Path root : List.of(model, adapter, tmp.resolve("tokenizer"), data)) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.toList()) {
                    sums.put(p.toString(), Files.isDirectory(p) ? "dir" : sha256(p));
                }
            }
        }
        return sums;
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void noCommandChangesAnInput() throws Exception {
        Map<String, String> before = inputs();
        Path out = tmp.resolve("run");
        Cli.run(train(out)).assertSuccess();
        Cli.run(train(out, "--overwrite-output-dir", "--max-steps", "3")).assertSuccess();
        Cli.run(train(out, "--resume", "--max-steps", "4")).assertSuccess();
        Cli.run(train(tmp.resolve("lora-run"), "--adapter", adapter.toString())).assertSuccess();
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output",
                tmp.resolve("merged").toString()).assertSuccess();
        Cli.run("eval", "--model", model.toString(), "--adapter", adapter.toString(), "--data", data.toString())
                .assertSuccess();
        Cli.run("generate", "--adapter", adapter.toString(), "--prompt", "hello", "--max-new-tokens", "3")
                .assertSuccess();
        Cli.run(train(model, "--overwrite-output-dir")).assertOneLineError(1);
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output",
                adapter.toString()).assertOneLineError(1);
        assertEquals(before, inputs(), "an input changed");
    }

    /**
     * The folder a run reads is never its output: the same folder, a folder inside it, or a folder holding it (or
     * the data file) is refused before the lock file or anything else is written, --overwrite-output-dir or not.
     */
    @Test
    void anOutputThatIsHoldsOrSitsInsideAnInputIsRefused() throws Exception {
        Map<String, String> before = inputs();
        Cli.run(train(model, "--overwrite-output-dir")).assertOneLineError(1,
                "orpo4j train: error: --output " + model + " is --model " + model + ": writing there could destroy it;"
                        + " choose another --output");
        Cli.run(train(model.resolve("run"), "--overwrite-output-dir")).assertOneLineError(1,
                "--output " + model.resolve("run") + " is inside --model " + model + " " + model);
        Cli.run(train(tmp, "--overwrite-output-dir")).assertOneLineError(1, "--output " + tmp + " contains --model");
        Path dataDir = Files.createDirectories(tmp.resolve("with-data"));
        Path inside = Files.copy(data, dataDir.resolve("pairs.jsonl"));
        List<String> args = new java.util.ArrayList<>(List.of(train(dataDir, "--overwrite-output-dir")));
        args.set(args.indexOf("--data") + 1, inside.toString());
        Cli.run(args.toArray(String[]::new)).assertOneLineError(1, "--output " + dataDir + " contains the training"
                + " data " + inside);
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output",
                model.toString()).assertOneLineError(1, "orpo4j merge: error: --output " + model + " is --model");
        Cli.run("merge", "--adapter", adapter.toString(), "--output", adapter.resolve("merged").toString())
                .assertOneLineError(1, "is inside --adapter " + adapter);
        assertEquals(before, inputs(), "an input changed");
        assertTrue(!Files.exists(model.resolve(".orpo4j.lock")) && !Files.exists(model.resolve("run")),
                "nothing written into the model folder");
    }

    /**
     * Adapters by their base: without --model the base is the one adapter_config.json names (PEFT's AutoPeftModel);
     * --model naming an adapter folder works the same; LoRA flags that would do nothing are refused; orpo_config.json
     * records the adapter's own settings when --adapter is trained further.
     */
    @Test
    void adaptersFindTheirBaseAndTheirOwnSettings() throws Exception {
        String viaAdapter = Cli.run("generate", "--adapter", adapter.toString(), "--prompt", "hello",
                "--max-new-tokens", "4").assertSuccess().out();
        String viaModel = Cli.run("generate", "--model", adapter.toString(), "--prompt", "hello",
                "--max-new-tokens", "4").assertSuccess().out();
        String explicit = Cli.run("generate", "--model", model.toString(), "--adapter", adapter.toString(),
                "--prompt", "hello", "--max-new-tokens", "4").assertSuccess().out();
        assertEquals(explicit, viaAdapter);
        assertEquals(explicit, viaModel);
        Cli.run("generate", "--model", adapter.toString(), "--adapter", adapter.toString(), "--prompt", "x")
                .assertOneLineError(1, "--model " + adapter + " is a LoRA adapter");

        Cli.run(train(tmp.resolve("x1"), "--lora-r", "8")).assertOneLineError(2, "--lora-r only apply to a LoRA run:"
                + " add --use-peft");
        Cli.run(train(tmp.resolve("x2"), "--adapter", adapter.toString(), "--lora-r", "8", "--lora-alpha", "4"))
                .assertOneLineError(2, "--lora-r, --lora-alpha cannot change the adapter --adapter " + adapter);
        Path more = tmp.resolve("more");
        Cli.run(train(more, "--adapter", adapter.toString())).assertSuccess();
        OrpoConfig used = OrpoConfig.read(more.resolve(OrpoConfig.FILE));
        assertTrue(used.usePeft());
        assertEquals(4, used.loraR(), "the adapter's r, not the default 16");
        assertEquals(model.toString(), new ObjectMapper().readTree(more.resolve("adapter_config.json").toFile())
                .get("base_model_name_or_path").asText());
        assertTrue(Files.exists(more.resolve(LoraModel.WEIGHTS_FILE)));
    }

    /** --resume of a run that already finished says so, exits 0 and writes nothing. */
    @Test
    void resumingAFinishedRunSaysSoAndWritesNothing() throws Exception {
        Path out = tmp.resolve("finished");
        Cli.run(train(out, "--eval-data", data.toString())).assertSuccess();
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        String config = Files.readString(out.resolve(OrpoConfig.FILE));
        Cli.Result again = Cli.run(train(out, "--eval-data", data.toString(), "--resume")).assertSuccess();
        assertTrue(again.out().startsWith("the run in " + out + " is already finished (step 2); nothing was written"),
                again.out());
        assertEquals(metrics, Files.readString(out.resolve("metrics.jsonl")), "no duplicate eval_ line");
        assertEquals(config, Files.readString(out.resolve(OrpoConfig.FILE)));
    }
}
