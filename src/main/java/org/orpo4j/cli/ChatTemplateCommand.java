package org.orpo4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.ChatTemplate;
import org.orpo4j.data.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code chat-template}: prints exactly the text a model's chat template makes of some messages. */
@Command(name = "chat-template", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print exactly what a model's chat template makes of some messages.",
                "Check with it what the model will see during training and generation."})
final class ChatTemplateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|ORG/NAME",
            description = "Model or tokenizer folder (tokenizer.json, tokenizer_config.json or chat_template.jinja), or a hub name.")
    Path model;

    @Option(names = "--messages", required = true, paramLabel = "FILE.json",
            description = "A JSON array of {\"role\", \"content\"} objects, or {\"messages\": [...]}.")
    Path messagesFile;

    @Option(names = "--add-generation-prompt",
            description = "Append the assistant header, as for generation (transformers' add_generation_prompt).")
    boolean addGenerationPrompt;

    @Override
    public Integer call() throws Exception {
        model = Inputs.tokenizer(model);
        List<ChatMessage> messages = MessagesFile.read(messagesFile);
        String rendered;
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            ChatTemplate template = tokenizer.chatTemplate().orElseThrow(() -> new IllegalArgumentException(
                    model + ": the tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja)"));
            rendered = template.render(messages, addGenerationPrompt);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(rendered);
        out.flush();
        return 0;
    }
}
