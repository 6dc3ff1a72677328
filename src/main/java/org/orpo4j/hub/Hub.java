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
 * Models, adapters and datasets by their hub names, through the cache huggingface_hub shares with the Python tools:
 * what is cached is used as is, what is missing is downloaded (only the files a run needs), and
 * {@code HF_HUB_OFFLINE=1} never touches the network. A local folder keeps working and wins over a hub name it
 * could also be. Resolving a name ({@link #planModel}, {@link #planDataset}: the revision's commit and file list)
 * is cheap and separate from downloading ({@link Plan#fetch()}), so a command can check every name it was given
 * before it downloads anything.
 */
public final class Hub {

    private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

    /** The files of a model repository a run reads (the weights as safetensors, their index, the tokenizer). */
    private static final List<String> MODEL_FILES = List.of("config.json", "generation_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
            "chat_template.json", "adapter_config.json", "adapter_model.safetensors");
    /** What makes a repository a PEFT adapter rather than a model. */
    private static final String ADAPTER_CONFIG = "adapter_config.json";

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

    /** A revision resolved to a commit, and the files of it a run needs: nothing downloaded yet. */
    public final class Plan {
        private final RepoId id;
        private final String commit;
        private final List<String> files;
        private final List<String> listed;

        private Plan(RepoId id, String commit, List<String> files, List<String> listed) {
            this.id = id;
            this.commit = commit;
            this.files = List.copyOf(files);
            this.listed = List.copyOf(listed);
        }

        public RepoId id() {
            return id;
        }

        /** The files {@link #fetch()} makes sure are in the snapshot folder. */
        public List<String> files() {
            return files;
        }

        /** A PEFT adapter repository ({@code adapter_config.json}, no {@code config.json}) rather than a model. */
        public boolean isAdapter() {
            return listed.contains(ADAPTER_CONFIG) && !listed.contains("config.json");
        }

        /** The snapshot folder the files are (or will be) in. */
        public Path folder() {
            return cache.snapshot(id, commit);
        }

        /** Downloads the planned files that are missing and returns the snapshot folder. */
        public Path fetch() throws IOException {
            return Hub.this.fetch(id, commit, files);
        }

        /** Downloads one planned file when missing (a small one read before the rest) and returns its path. */
        public Path fetch(String file) throws IOException {
            if (!files.contains(file)) {
                throw new HubException(id + ": " + file + " is not in the repository");
            }
            return Hub.this.fetch(id, commit, List.of(file)).resolve(file);
        }
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
        return planModel(nameOrPath).fetch();
    }

    /**
     * Resolves hub model (or adapter) {@code name} to its commit and the files a run reads: config, safetensors
     * weights (or an adapter's files), tokenizer. Fails, before any download, when it has no safetensors weights.
     */
    public Plan planModel(String name) throws IOException {
        RepoId id = RepoId.parse(name, RepoId.Type.MODEL);
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
        return new Plan(id, snapshot.commit(), wanted, snapshot.files());
    }

    /**
     * The files of dataset {@code name} that hold {@code split}, as the datasets library's default patterns find
     * them (parquet, JSONL and JSON files), downloaded when missing; one line listing the splits there are when
     * none matches.
     */
    public List<Path> dataset(String name, String split) throws IOException {
        Plan plan = planDataset(name, split);
        Path folder = plan.fetch();
        return plan.files().stream().map(folder::resolve).toList();
    }

    /** Resolves dataset {@code name}'s split to its files, nothing downloaded; fails when no file holds the split. */
    public Plan planDataset(String name, String split) throws IOException {
        RepoId id = RepoId.parse(name, RepoId.Type.DATASET);
        Snapshot snapshot = snapshot(id);
        List<String> files = DataFiles.forSplit(snapshot.files(), split);
        if (files.isEmpty()) {
            throw new HubException(id + ": no data files for split '" + split + "' (splits found: "
                    + String.join(", ", DataFiles.splits(snapshot.files())) + ")");
        }
        return new Plan(id, snapshot.commit(), files, snapshot.files());
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
    private Path fetch(RepoId id, String commit, List<String> files) throws IOException {
        Path folder = cache.snapshot(id, commit);
        for (String file : files) {
            if (Files.exists(RepoFiles.inside(folder, file))) {
                continue;
            }
            if (offline) {
                throw new HubException(id + ": " + file + " is not cached and HF_HUB_OFFLINE is set");
            }
            LOG.info("{}: downloading {}", id, file);
            client.download(id, commit, file, cache);
        }
        return folder;
    }
}
