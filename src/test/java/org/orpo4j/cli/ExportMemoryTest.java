package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.DType;

/**
 * The export streams: a 166 MB checkpoint exports (f32 and q8_0) in a JVM whose heap (96 MB) could not hold the
 * model once, let alone twice.
 */
class ExportMemoryTest {

    @TempDir
    Path tmp;

    @Test
    void exportsAModelLargerThanTheHeap() throws Exception {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        for (String f : new String[] {"tokenizer.json.gz", "tokenizer_config.json"}) {
            Files.copy(Path.of("src/test/resources/tokenizers/llama2", f), model.resolve(f));
        }
        ModelConfig config = ModelConfig.builder("llama").vocabSize(32000).hiddenSize(256).intermediateSize(1024)
                .numHiddenLayers(24).numAttentionHeads(4).numKeyValueHeads(4).tieWordEmbeddings(false).build();
        config.save(model.resolve("config.json"), "float32");
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice()); CausalLm lm = CausalLm.random(config, m, 3)) {
            Map<String, NDArray> tensors = new LinkedHashMap<>(lm.parameters());
            CheckpointWriter.writeFile(model.resolve("model.safetensors"), tensors, DType.F32);
        }
        long size = Files.size(model.resolve("model.safetensors"));
        assertTrue(size > 150L << 20, "checkpoint of " + size + " bytes");
        for (String type : List.of("f32", "q8_0")) {
            Path out = tmp.resolve("m-" + type + ".gguf");
            List<String> cmd = Cli.childCommand(List.of("export", "--model", model.toString(), "--outtype", type,
                    "--output", out.toString()), "-Xmx96m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), output);
            assertTrue(Files.size(out) > (type.equals("f32") ? size : size / 4), type + ": " + Files.size(out));
        }
    }
}
