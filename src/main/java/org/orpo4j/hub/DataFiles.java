package org.orpo4j.hub;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which files of a dataset repository hold a split, by the datasets library's default patterns: a path component
 * named after the split ({@code train/…}, {@code <config>/train/…}), or a file name that starts with it or carries
 * it between separators ({@code train.jsonl}, {@code data/train-00000-of-00001.parquet}, {@code x_test.json}).
 */
final class DataFiles {

    private static final Pattern DATA = Pattern.compile(".*\\.(parquet|jsonl|json)$");
    private static final List<String> KNOWN = List.of("train", "validation", "valid", "dev", "test", "eval");

    private DataFiles() {}

    /** The data files of {@code split}, sorted. */
    static List<String> forSplit(List<String> files, String split) {
        return files.stream().filter(f -> DATA.matcher(f).matches() && !f.startsWith(".")).filter(f -> holds(f, split))
                .sorted().toList();
    }

    /** The split names the data files' paths carry (among the usual ones). */
    static List<String> splits(List<String> files) {
        TreeSet<String> found = new TreeSet<>();
        for (String f : files) {
            for (String s : KNOWN) {
                if (DATA.matcher(f).matches() && holds(f, s)) {
                    found.add(s);
                }
            }
        }
        return List.copyOf(found);
    }

    private static boolean holds(String file, String split) {
        String lower = file.toLowerCase(Locale.ROOT);
        String name = lower.substring(lower.lastIndexOf('/') + 1);
        String s = Pattern.quote(split.toLowerCase(Locale.ROOT));
        return Pattern.compile("(^|.*/)" + s + "/.*").matcher(lower).matches() // a folder named after the split
                || Pattern.compile("(^|.*[-._ 0-9])" + s + "([-._ 0-9].*)?").matcher(name).matches();
    }
}
