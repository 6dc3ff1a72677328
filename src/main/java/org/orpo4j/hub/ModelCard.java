package org.orpo4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.orpo4j.runtime.Json;

/**
 * The README.md a pushed folder gets when it has none: the hub's card metadata (base model, data sets, library,
 * tags) in YAML front matter, then what was trained, from what, on which data, and the ORPO settings of the run
 * ({@code orpo_config.json}). The base model is the one given, else the adapter's {@code base_model_name_or_path},
 * else config.json's {@code _name_or_path}; a data set may be a hub name or a local file's name.
 */
public final class ModelCard {

    private ModelCard() {}

    /** The card for {@code folder}; {@code baseModel} and {@code datasets} may be null/empty (then read or left out). */
    public static String of(Path folder, String repo, String baseModel, List<String> datasets) throws IOException {
        boolean adapter = Files.isRegularFile(folder.resolve("adapter_config.json"));
        String base = baseModel != null ? baseModel : readText(folder.resolve(adapter ? "adapter_config.json"
                : "config.json"), adapter ? "base_model_name_or_path" : "_name_or_path");
        List<String> data = datasets == null ? List.of() : datasets;
        List<String> hubData = data.stream().map(ModelCard::withoutRevision).filter(ModelCard::isHubName).toList();
        StringBuilder b = new StringBuilder("---\n");
        if (base != null && isHubName(withoutRevision(base))) {
            b.append("base_model: ").append(yaml(withoutRevision(base))).append('\n');
        }
        if (!hubData.isEmpty()) {
            b.append("datasets:\n");
            hubData.forEach(d -> b.append("- ").append(yaml(d)).append('\n'));
        }
        b.append("library_name: ").append(adapter ? "peft" : "transformers").append('\n');
        b.append("tags:\n- orpo\n- orpo4j\n").append(adapter ? "- lora\n" : "");
        b.append("---\n\n# ").append(repo).append("\n\n");
        b.append(adapter ? "A LoRA adapter for " : "A fine-tune of ").append(base == null ? "its base model" : "`" + base + "`")
                .append(", trained with ORPO (Odds Ratio Preference Optimization, arXiv:2403.07691) by orpo4j");
        if (!data.isEmpty()) {
            b.append(" on ");
            for (int i = 0; i < data.size(); i++) {
                b.append(i == 0 ? "" : i == data.size() - 1 ? " and " : ", ").append('`').append(data.get(i)).append('`');
            }
        }
        b.append(".\n");
        Path settings = folder.resolve("orpo_config.json");
        if (Files.isRegularFile(settings)) {
            b.append("\n## ORPO settings\n\n| setting | value |\n|---|---|\n");
            JsonNode config = Json.untrusted().readTree(settings.toFile());
            for (Iterator<Map.Entry<String, JsonNode>> it = config.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String value = e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString();
                b.append("| ").append(e.getKey()).append(" | ").append(cell(value)).append(" |\n");
            }
        }
        return b.toString();
    }

    /**
     * True for a hub name ({@code org/name}) that is no local path: the hub refuses a card whose {@code base_model}
     * or {@code datasets} metadata names no repository, so local folders and files are named in the text only.
     */
    private static boolean isHubName(String s) {
        return s.contains("/") && RepoId.looksLikeRepo(s) && !Files.exists(Path.of(s));
    }

    private static String withoutRevision(String name) {
        return name.replaceFirst("@.*$", "");
    }

    /** A table cell: a pipe or a line break would end the cell or the table. */
    private static String cell(String s) {
        return s.replace("|", "\\|").replaceAll("\\R", " ");
    }

    private static String readText(Path json, String field) throws IOException {
        if (!Files.isRegularFile(json)) {
            return null;
        }
        JsonNode v = Json.untrusted().readTree(json.toFile()).path(field);
        return v.isTextual() && !v.asText().isBlank() ? v.asText() : null;
    }

    /** A YAML scalar: plain when safe, else double-quoted JSON (a YAML subset). */
    private static String yaml(String s) {
        return s.matches("[A-Za-z0-9_./@-]+") ? s : Json.untrusted().valueToTree(s).toString();
    }
}
