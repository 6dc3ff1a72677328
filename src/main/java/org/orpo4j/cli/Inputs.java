package org.orpo4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Checks on the files and folders a command is given, so that a typo fails with one line naming the path. */
final class Inputs {

    private Inputs() {}

    /** A HF model folder: it exists and holds {@code config.json}. */
    static Path modelDir(Path dir) throws IOException {
        folder(dir);
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IOException(dir + ": no config.json (not a HuggingFace model folder)");
        }
        return dir;
    }

    /** A folder with {@code tokenizer.json} (or .gz). */
    static Path tokenizerDir(Path dir) throws IOException {
        folder(dir);
        if (!Files.isRegularFile(dir.resolve("tokenizer.json")) && !Files.isRegularFile(dir.resolve("tokenizer.json.gz"))) {
            throw new IOException(dir + ": no tokenizer.json in this folder");
        }
        return dir;
    }

    static Path folder(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            throw new NoSuchFileException(dir.toString());
        }
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a folder");
        }
        return dir;
    }

    static Path file(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString());
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a file");
        }
        return file;
    }
}
