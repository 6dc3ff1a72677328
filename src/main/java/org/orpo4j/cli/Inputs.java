package org.orpo4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.orpo4j.hub.Hub;
import org.orpo4j.hub.HubException;
import org.orpo4j.hub.RepoId;

/** Checks on the files and folders a command is given, so that a typo fails with one line naming the path. */
final class Inputs {

    private Inputs() {}

    /**
     * A folder that must hold a tokenizer, or a hub name ({@code org/name[@revision]}) that is not a local path,
     * resolved to its snapshot in the HuggingFace cache, the files a run needs downloaded first (docs/hub.md).
     */
    static Path tokenizer(Path given) throws IOException {
        String name = given.toString();
        if (Files.exists(given) || !RepoId.looksLikeRepo(name)) {
            return tokenizerDir(given);
        }
        try {
            return tokenizerDir(Hub.fromEnvironment().model(name));
        } catch (HubException e) {
            throw new IOException(name + ": no such local folder, and as a hub name: " + e.getMessage(), e);
        }
    }

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
