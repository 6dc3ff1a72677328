package org.orpo4j.hub;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which files of a dataset repository hold a split, by the datasets library's default patterns: a folder or a file
 * name that carries one of the split's keywords between separators ({@code -._ } and digits): {@code train/…},
 * {@code <config>/train/…}, {@code data-train/…}, {@code train.jsonl}, {@code data/train-00000-of-00001.parquet},
 * {@code x_test.json}. {@code train}, {@code validation} and {@code test} also answer to the library's synonyms
 * ({@code training}; {@code valid}, {@code dev}, {@code val}; {@code testing}, {@code eval}, {@code evaluation}).
 */
final class DataFiles {

    private static final Pattern DATA = Pattern.compile(".*\\.(parquet|jsonl|json)$");
    private static final Map<String, List<String>> KEYWORDS = Map.of(
            "train", List.of("train", "training"),
            "validation", List.of("validation", "valid", "dev", "val"),
            "test", List.of("test", "testing", "eval", "evaluation"));
    private static final String SEP = "[-._ 0-9]";

    private DataFiles() {}

    /** The data files of {@code split}, sorted. */
    static List<String> forSplit(List<String> files, String split) {
        return files.stream().filter(f -> DATA.matcher(f).matches() && !f.startsWith(".")).filter(f -> holds(f, split))
                .sorted().toList();
    }

    /** The split names (train, validation, test) the data files' paths carry. */
    static List<String> splits(List<String> files) {
        TreeSet<String> found = new TreeSet<>();
        for (String f : files) {
            for (String s : KEYWORDS.keySet()) {
                if (DATA.matcher(f).matches() && holds(f, s)) {
                    found.add(s);
                }
            }
        }
        return List.copyOf(found);
    }

    private static boolean holds(String file, String split) {
        String[] parts = file.toLowerCase(Locale.ROOT).split("/");
        String lower = split.toLowerCase(Locale.ROOT);
        for (String keyword : KEYWORDS.getOrDefault(lower, List.of(lower))) {
            String k = Pattern.quote(keyword);
            Pattern folder = Pattern.compile("(.*" + SEP + ")?" + k + "(" + SEP + ".*)?");
            Pattern name = Pattern.compile("(.*" + SEP + ")?" + k + SEP + ".*");
            for (int i = 0; i < parts.length - 1; i++) {
                if (folder.matcher(parts[i]).matches()) {
                    return true;
                }
            }
            if (name.matcher(parts[parts.length - 1]).matches()) {
                return true;
            }
        }
        return false;
    }
}
