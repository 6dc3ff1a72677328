package org.orpo4j.hub;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Models and datasets by their hub names, through the cache huggingface_hub shares with the Python tools: what is
 * cached is used as is, what is missing is downloaded (only the files a run needs), and {@code HF_HUB_OFFLINE=1}
 * never touches the network. A local folder keeps working and wins over a hub name it could also be.
 */
public final class Hub {

    private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

    /** The files of a model repository a run reads (the weights as safetensors, their index, the tokenizer). */
    private static final List<String> MODEL_FILES = List.of("config.json", "generation_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
            "chat_template.json", "adapter_config.json", "adapter_model.safetensors");

    private final HubCache cache;
    private final HubClient client; // null offline
    private final boolean offline;

    Hub(HubCache cache, HubClient client, boolean offline) {
        this.cache = cache;
        this.client = client;
        this.offline = offline;
    }

    /** The cache, endpoint, token and offline switch the environment sets (as huggingface_hub reads them). */
    public static Hub fromEnvironment() throws IOException {
        return fromEnvironment(System.getenv());
    }

    public static Hub fromEnvironment(Map<String, String> env) throws IOException {
        String flag = env.getOrDefault("HF_HUB_OFFLINE", "");
        boolean offline = flag.equals("1") || flag.equalsIgnoreCase("true") || flag.equalsIgnoreCase("yes");
        return new Hub(HubCache.fromEnvironment(env), offline ? null : HubClient.fromEnvironment(env), offline);
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * The folder of model {@code nameOrPath}: the local folder when it exists, else the cached snapshot of hub
     * repository {@code org/name[@revision]}, its missing files downloaded first.
     */
    public Path model(String nameOrPath) throws IOException {
        Path local = Path.of(nameOrPath);
        if (Files.isDirectory(local) || !RepoId.looksLikeRepo(nameOrPath)) {
            return local;
        }
        RepoId id = RepoId.parse(nameOrPath, RepoId.Type.MODEL);
        Snapshot snapshot = snapshot(id);
        List<String> wanted = new ArrayList<>();
        for (String file : snapshot.files()) {
            if (MODEL_FILES.contains(file) || (!file.contains("/") && (file.endsWith(".safetensors")
                    || file.endsWith(".safetensors.index.json")))) {
                wanted.add(file);
            }
        }
        if (!offline && wanted.stream().noneMatch(f -> f.endsWith(".safetensors"))) {
            throw new HubException(id + ": no safetensors weights (orpo4j reads safetensors, not .bin)");
        }
        return fetch(id, snapshot, wanted);
    }

    /**
     * The files of dataset {@code name} that hold {@code split}, as the datasets library's default patterns find
     * them (parquet, JSONL and JSON files), downloaded when missing; one line listing the splits there are when
     * none matches.
     */
    public List<Path> dataset(String name, String split) throws IOException {
        RepoId id = RepoId.parse(name, RepoId.Type.DATASET);
        Snapshot snapshot = snapshot(id);
        List<String> files = DataFiles.forSplit(snapshot.files(), split);
        if (files.isEmpty()) {
            throw new HubException(id + ": no data files for split '" + split + "' (splits found: "
                    + String.join(", ", DataFiles.splits(snapshot.files())) + ")");
        }
        Path folder = fetch(id, snapshot, files);
        return files.stream().map(folder::resolve).toList();
    }

    /** A commit and its file list: from the hub, or offline (or unreachable) from the cache. */
    private record Snapshot(String commit, List<String> files) {}

    private Snapshot snapshot(RepoId id) throws IOException {
        if (!offline) {
            try {
                HubClient.Revision revision = client.revision(id);
                cache.writeRef(id, revision.commit());
                return new Snapshot(revision.commit(), revision.files());
            } catch (ConnectException | HttpConnectTimeoutException e) {
                Optional<String> cached = cache.commit(id);
                if (cached.isEmpty()) {
                    throw new HubException(id + ": the hub is unreachable (" + e.getClass().getSimpleName()
                            + ") and nothing is cached in " + cache.root());
                }
                LOG.warn("{}: the hub is unreachable; using the cached snapshot {}", id, cached.get());
                return new Snapshot(cached.get(), cachedFiles(id, cached.get()));
            }
        }
        String commit = cache.commit(id).orElseThrow(() -> new HubException(id + ": HF_HUB_OFFLINE is set and "
                + "nothing is cached in " + cache.root() + " (download it once without HF_HUB_OFFLINE)"));
        return new Snapshot(commit, cachedFiles(id, commit));
    }

    private List<String> cachedFiles(RepoId id, String commit) throws IOException {
        Path folder = cache.snapshot(id, commit);
        try (var walk = Files.walk(folder)) {
            return walk.filter(p -> !Files.isDirectory(p)).map(p -> folder.relativize(p).toString()).sorted()
                    .toList();
        }
    }

    /** Downloads {@code files} missing from the snapshot folder (never offline) and returns the folder. */
    private Path fetch(RepoId id, Snapshot snapshot, List<String> files) throws IOException {
        Path folder = cache.snapshot(id, snapshot.commit());
        for (String file : files) {
            if (Files.exists(RepoFiles.inside(folder, file))) {
                continue;
            }
            if (offline) {
                throw new HubException(id + ": " + file + " is not cached and HF_HUB_OFFLINE is set");
            }
            LOG.info("{}: downloading {}", id, file);
            client.download(id, snapshot.commit(), file, cache);
        }
        return folder;
    }
}
