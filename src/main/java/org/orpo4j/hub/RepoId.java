package org.orpo4j.hub;

import java.util.regex.Pattern;

/**
 * A hub repository as users type it: {@code org/name} or {@code name}, optionally {@code @revision} (a branch, tag
 * or commit hash), of a model or a dataset.
 */
public record RepoId(String name, String revision, Type type) {

    /** The hub's two repository kinds this project reads. */
    public enum Type {
        MODEL("models", ""), DATASET("datasets", "datasets/");

        final String plural; // cache folder prefix and API path
        final String urlPrefix; // before the repo id in resolve URLs

        Type(String plural, String urlPrefix) {
            this.plural = plural;
            this.urlPrefix = urlPrefix;
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?");
    /** Branch, tag or commit names as the hub takes them (they become paths under {@code refs/}). */
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._/+-]+");

    public RepoId {
        if (!NAME.matcher(name).matches() || name.contains("..") || name.endsWith(".")) {
            throw new IllegalArgumentException("'" + name + "' is not a hub repository name (org/name)");
        }
        if (revision == null || !REVISION.matcher(revision).matches() || revision.contains("..")
                || revision.startsWith("/") || revision.endsWith("/") || revision.contains("//")) {
            throw new IllegalArgumentException("'" + revision + "' is not a revision of " + name);
        }
    }

    /** Parses {@code org/name[@revision]} (revision default {@code main}). */
    public static RepoId parse(String text, Type type) {
        int at = text.indexOf('@');
        return at < 0 ? new RepoId(text, "main", type) : new RepoId(text.substring(0, at), text.substring(at + 1), type);
    }

    /** True when {@code text} could name a hub repository (a local path that does not exist may still be one). */
    public static boolean looksLikeRepo(String text) {
        String name = text.contains("@") ? text.substring(0, text.indexOf('@')) : text;
        return NAME.matcher(name).matches() && !name.contains("..");
    }

    /** The cache folder name: {@code models--org--name}. */
    String folderName() {
        return type.plural + "--" + name.replace("/", "--");
    }

    /** True when the revision is a full commit hash. */
    boolean isCommit() {
        return revision.matches("[0-9a-f]{40}");
    }

    @Override
    public String toString() {
        return (type == Type.DATASET ? "dataset " : "") + name + (revision.equals("main") ? "" : "@" + revision);
    }
}
