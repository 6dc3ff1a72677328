package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.GenerationConfig;
import org.orpo4j.model.LoadOptions;
import org.orpo4j.runtime.DjlRuntime;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code generate}: continues a prompt (or answers it as a chat turn) with a model folder. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        modelTransformer = FourBitOptions.Transformer.class,
        description = "Generate text from a prompt with a HF model folder (greedy unless --temperature > 0).")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    DeviceOption deviceOption;

    @Mixin
    AdapterOption adapterOption;

    @Option(names = "--model", paramLabel = "DIR|ORG/NAME",
            description = "HF model folder (with tokenizer), or a hub name[@revision]; optional with --adapter.")
    String model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Option(names = "--chat", description = "Send the prompt as a user message through the chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the prompt.")
    String system;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "128",
            description = "Token budget. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 = greedy; above 0 samples from softmax(logits / T). Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "Nucleus sampling mass in (0, 1]. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--attn-implementation", paramLabel = "NAME", defaultValue = "eager",
            converter = AttnImplementationConverter.class,
            description = "eager or sdpa (torch's fused attention; orpo4j's native library). Default: ${DEFAULT-VALUE}.")
    AttnImplementation attnImplementation;

    /** transformers' names, a bad one refused by picocli with the option named. */
    static final class AttnImplementationConverter implements CommandLine.ITypeConverter<AttnImplementation> {
        @Override
        public AttnImplementation convert(String value) {
            try {
                return AttnImplementation.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "': expected eager or sdpa");
            }
        }
    }

    @Override
    public Integer call() throws Exception {
        GenerationConfig settings;
        try {
            settings = new GenerationConfig(maxNewTokens, temperature, topP, seed, null);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (system != null && !chat) {
            throw new ParameterException(spec.commandLine(), "--system needs --chat");
        }
        LoadOptions load = FourBitOptions.read(spec.commandLine().getParseResult(), spec.commandLine());
        ModelInputs inputs = ModelInputs.resolve(model, adapterOption.adapter);
        inputs.prepare();
        List<ChatMessage> messages = new ArrayList<>();
        if (system != null) {
            messages.add(new ChatMessage("system", system));
        }
        messages.add(new ChatMessage("user", prompt));
        String text;
        try (HfTokenizer tokenizer = HfTokenizer.load(inputs.tokenizerDir());
                NDManager manager = DjlRuntime.newManager(deviceOption.resolve());
                CausalLm lm = inputs.load(manager, load)) {
            lm.attnImplementation(attnImplementation);
            Completion completion = new Completion(lm, tokenizer);
            text = chat ? completion.chat(messages, settings)
                    : completion.continueText(prompt, settings);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(text);
        out.flush();
        return 0;
    }
}
