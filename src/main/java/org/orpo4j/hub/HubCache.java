package org.orpo4j.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.runtime.AtomicFiles;

/**
 * The HuggingFace cache as huggingface_hub lays it out, shared with the Python tools: {@code
 * <cache>/models--org--name/} holds {@code blobs/<etag>} (the files' content), {@code snapshots/<commit>/<file>}
 * (relative links to the blobs) and {@code refs/<revision>} (the commit a branch or tag last resolved to).
 */
public final class HubCache {

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    /** {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else {@code ~/.cache/huggingface/hub}. */
    public static HubCache fromEnvironment(Map<String, String> env) {
        String cache = env.get("HF_HUB_CACHE");
        if (cache != null && !cache.isBlank()) {
            return new HubCache(Path.of(cache));
        }
        return new HubCache(home(env).resolve("hub"));
    }

    /** {@code HF_HOME}, else {@code ~/.cache/huggingface} (where the token file lives too). */
    static Path home(Map<String, String> env) {
        String home = env.get("HF_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("huggingface");
    }

    public Path root() {
        return root;
    }

    Path repo(RepoId id) {
        return root.resolve(id.folderName());
    }

    /** The commit {@code id}'s revision resolved to last time, if the cache knows it. */
    Optional<String> commit(RepoId id) throws IOException {
        if (id.isCommit()) {
            return Files.isDirectory(snapshot(id, id.revision())) ? Optional.of(id.revision()) : Optional.empty();
        }
        Path ref = repo(id).resolve("refs").resolve(id.revision());
        if (!Files.isRegularFile(ref)) {
            return Optional.empty();
        }
        String commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
        return commit.matches("[0-9a-f]{40}") ? Optional.of(commit) : Optional.empty();
    }

    /** Records that {@code id}'s revision is {@code commit} (as huggingface_hub writes refs). */
    void writeRef(RepoId id, String commit) throws IOException {
        if (id.isCommit()) {
            return;
        }
        Path ref = repo(id).resolve("refs").resolve(id.revision());
        Files.createDirectories(ref.getParent());
        AtomicFiles.write(ref, commit.getBytes(StandardCharsets.UTF_8));
    }

    Path snapshot(RepoId id, String commit) {
        return repo(id).resolve("snapshots").resolve(commit);
    }

    /** The blob named by {@code etag}, which must be a sha1 or sha256 (it comes from the network). */
    Path blob(RepoId id, String etag) {
        if (!etag.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a blob name: " + HubErrors.printable(etag));
        }
        return repo(id).resolve("blobs").resolve(etag);
    }

    /** Links {@code snapshots/<commit>/<file>} to {@code blobs/<etag>} by a relative link, as huggingface_hub does. */
    void link(RepoId id, String commit, String file, String etag) throws IOException {
        Path target = RepoFiles.inside(snapshot(id, commit), file);
        Files.createDirectories(target.getParent());
        Path relative = target.getParent().relativize(blob(id, etag));
        Path tmp = target.resolveSibling("." + target.getFileName() + ".link");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, relative);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
