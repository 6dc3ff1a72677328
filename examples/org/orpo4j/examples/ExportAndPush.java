package org.orpo4j.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.orpo4j.export.GgufExport;
import org.orpo4j.export.OutType;
import org.orpo4j.hub.HubPush;

/**
 * From a trained run to something people run and share: the model (with a LoRA adapter merged in, if given) as a
 * Q8_0 GGUF file for llama.cpp and Ollama, and, with a repository name, the run folder pushed to the hub (the token
 * from HF_TOKEN or the token file, the hub from HF_ENDPOINT) with a model card.
 * <pre>ExportAndPush MODEL_DIR ADAPTER_DIR|- OUT.gguf [ORG/NAME]</pre>
 */
public final class ExportAndPush {

    public static void main(String[] args) throws Exception {
        run(args, System.getenv());
    }

    /** The program with the environment given (a hub endpoint and token), so it can run against any hub. */
    public static void run(String[] args, Map<String, String> env) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path adapterDir = args[1].equals("-") ? null : Path.of(args[1]);
        Path gguf = Path.of(args[2]);
        // a trained adapter carries the tokenizer it was trained with (chat template included): prefer it
        Path tokenizerDir = adapterDir != null && Files.isRegularFile(adapterDir.resolve("tokenizer.json"))
                ? adapterDir : modelDir;
        GgufExport.Result r = GgufExport.export(modelDir, adapterDir, tokenizerDir, OutType.Q8_0, gguf, null);
        System.out.println("wrote " + r.file() + ": " + r.architecture() + ", " + r.tensors() + " tensors, "
                + r.bytes() + " bytes");
        if (args.length > 3) {
            Path folder = adapterDir != null ? adapterDir : modelDir;
            HubPush.Result p = HubPush.fromEnvironment(env).push(folder, args[3],
                    new HubPush.Options(false, "main", "Upload from ExportAndPush", null, List.of()));
            System.out.println(p.commit() == null ? "the hub has these files already" : "commit " + p.commit());
        }
    }
}
