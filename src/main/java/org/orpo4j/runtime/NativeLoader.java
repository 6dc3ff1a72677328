package org.orpo4j.runtime;

import ai.djl.util.Platform;
import ai.djl.util.Utils;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts orpo4j's PyTorch JNI under DJL before the engine starts, so the JVM runs DJL's own libtorch through a JNI that
 * knows bfloat16 (docs/native.md). DJL takes libtorch and its JNI from {@code PYTORCH_LIBRARY_PATH} when that names a
 * folder holding {@code libtorch.so}, preferring a {@code 0.36.0-libdjl_torch.so} found there; orpo4j makes such a
 * folder of links to the libraries DJL extracted into its cache plus its own JNI, and sets the system property.
 * Which JNI, in order:
 * <ol>
 *   <li>{@code PYTORCH_LIBRARY_PATH} set by the user (environment or system property): theirs, untouched;</li>
 *   <li>{@code ORPO4J_NATIVE} (environment) or {@code orpo4j.native} (system property): {@code off} for DJL's own
 *       JNI, else the path of an orpo4j-built {@code libdjl_torch.so} (or its folder), which must match DJL's libtorch;</li>
 *   <li>the library {@code mvn package} put into orpo4j's jar, copied once into
 *       {@code ~/.cache/orpo4j/native/jni-KEY-SHA/};</li>
 *   <li>DJL's own JNI (no bfloat16) when there is none, or it was built for another libtorch.</li>
 * </ol>
 */
public final class NativeLoader {

    /** Where {@code mvn package} puts the library among the jar's classes. */
    static final String RESOURCE = "/org/orpo4j/native/linux-x86_64/libdjl_torch.so";

    static final String ENV = "ORPO4J_NATIVE";
    static final String PROPERTY = "orpo4j.native";
    static final String LIBRARY_PATH = "PYTORCH_LIBRARY_PATH";

    private static final Logger LOG = LoggerFactory.getLogger(NativeLoader.class);

    /** Who chose the JNI DJL loads. */
    public enum Source {
        /** {@code PYTORCH_LIBRARY_PATH} set by the user. */
        USER_LIBRARY_PATH,
        /** {@code ORPO4J_NATIVE} / {@code orpo4j.native} naming a library. */
        EXPLICIT,
        /** The library carried in orpo4j's jar. */
        BUNDLED,
        /** DJL's own JNI. */
        DJL
    }

    /**
     * What was decided before the engine started.
     *
     * @param source who chose
     * @param library orpo4j's JNI put under DJL (null unless {@code EXPLICIT} or {@code BUNDLED})
     * @param build its build record (null when {@code library} is)
     * @param reason for {@code DJL}, why orpo4j's JNI is not used, naming the fix
     */
    public record Choice(Source source, Path library, NativeBuild build, String reason) {

        boolean orpo4j() {
            return library != null;
        }
    }

    private static Choice choice;

    private NativeLoader() {}

    /**
     * Decides, once per JVM, which JNI DJL loads and prepares the folder; call before the PyTorch engine first loads.
     *
     * @throws NativeLibraryException when {@code ORPO4J_NATIVE} names a library that can't be used
     */
    public static synchronized Choice install() {
        if (choice == null) {
            choice = decide();
            if (choice.orpo4j()) {
                Path folder = runtimeFolder(choice.library(), djlLibtorch());
                System.setProperty(LIBRARY_PATH, folder.toString());
                LOG.debug("orpo4j JNI {} ({}) through PYTORCH_LIBRARY_PATH={}", choice.library(),
                        choice.build().describe(), folder);
            }
        }
        return choice;
    }

    /**
     * After DJL failed to load the jar's library: DJL's own JNI instead, {@code reason} saying why. The failed load
     * left libtorch loaded from DJL's own files (through the links), so the second start maps the same libtorch.
     */
    static synchronized Choice fallBack(String reason) {
        System.clearProperty(LIBRARY_PATH);
        choice = new Choice(Source.DJL, null, null, reason);
        return choice;
    }

    /** The decision made, or null before the engine started. */
    public static synchronized Choice choice() {
        return choice;
    }

    private static Choice decide() {
        if (Utils.getEnvOrSystemProperty(LIBRARY_PATH) != null) {
            return new Choice(Source.USER_LIBRARY_PATH, null, null, "PYTORCH_LIBRARY_PATH is set, so DJL loads the JNI"
                    + " found there: build one with bfloat16 for that torch (scripts/native/build-djl-jni.sh, docs/gpu.md)");
        }
        String explicit = System.getenv(ENV) != null ? System.getenv(ENV) : System.getProperty(PROPERTY);
        Platform platform = Platform.detectPlatform("pytorch");
        if (platform.isPlaceholder()) {
            return new Choice(Source.DJL, null, null, "no pytorch-native jar on the class path (DJL fetches libtorch"
                    + " itself), so there is no libtorch of DJL's for orpo4j's JNI to run on");
        }
        if (explicit != null && !explicit.isBlank()) {
            String name = System.getenv(ENV) != null ? ENV : PROPERTY;
            if (explicit.strip().toLowerCase(Locale.ROOT).equals("off")) {
                return new Choice(Source.DJL, null, null, name + "=off");
            }
            Path library = Path.of(explicit.strip());
            if (Files.isDirectory(library)) {
                library = library.resolve("libdjl_torch.so");
            }
            if (!Files.isRegularFile(library)) {
                throw new NativeLibraryException(name + "=" + explicit + ": no such file; point it at a libdjl_torch.so"
                        + " orpo4j built (mvn package puts one in ~/.cache/orpo4j/native/) or set it to off");
            }
            NativeBuild build = readBuild(library).orElseThrow(() -> new NativeLibraryException(name + "=" + explicit
                    + " is not a JNI orpo4j built (it has no build record): build one with mvn package or"
                    + " scripts/native/build-djl-jni.sh (docs/native.md), or set " + name + "=off"));
            String mismatch = mismatch(build, platform);
            if (mismatch != null) {
                throw new NativeLibraryException(name + "=" + explicit + " " + mismatch + ": rebuild it against torch "
                        + torchVersion(platform) + " (mvn package, or scripts/native/build-djl-jni.sh; docs/native.md)"
                        + " or unset " + name);
            }
            return new Choice(Source.EXPLICIT, library, build, null);
        }
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return new Choice(Source.DJL, null, null, "this orpo4j carries no native library (mvn package builds"
                        + " it on Linux x86-64 where a C++ compiler and pip are): rebuild it there (docs/native.md)");
            }
            byte[] bytes = in.readAllBytes();
            NativeBuild build = NativeBuild.find(bytes).orElseThrow(
                    () -> new IllegalStateException(RESOURCE + " in orpo4j's jar has no build record"));
            String mismatch = mismatch(build, platform);
            if (mismatch != null) {
                String reason = "orpo4j's native library " + mismatch + ": rebuild orpo4j (mvn package) for torch "
                        + torchVersion(platform);
                LOG.warn("{}; DJL's own JNI (no bf16) is used", reason);
                return new Choice(Source.DJL, null, null, reason);
            }
            return new Choice(Source.BUNDLED, extract(bytes, build), build, null);
        } catch (IOException e) {
            throw new UncheckedIOException("reading orpo4j's native library " + RESOURCE, e);
        }
    }

    /** Why {@code build} can't run on DJL's libtorch, or null when it can. */
    static String mismatch(NativeBuild build, Platform platform) {
        String torch = torchVersion(platform);
        String ours = "linux-x86_64";
        if (!platform.getClassifier().equals(ours)) {
            return "was built for " + ours + ", this is " + platform.getClassifier();
        }
        if (!build.torch().equals(torch) || !build.flavor().equals(platform.getFlavor())) {
            return "was built for torch " + build.torch() + " (" + build.flavor() + ") but DJL loads libtorch " + torch
                    + " (" + platform.getFlavor() + ")";
        }
        if (!build.djl().equals(platform.getApiVersion())) {
            return "implements DJL " + build.djl() + "'s JNI but DJL " + platform.getApiVersion() + " is running";
        }
        return null;
    }

    /** {@code 2.7.1} of DJL's {@code 2.7.1-20250812}. */
    static String torchVersion(Platform platform) {
        String v = platform.getVersion();
        int dash = v.indexOf('-');
        return dash < 0 ? v : v.substring(0, dash);
    }

    private static java.util.Optional<NativeBuild> readBuild(Path library) {
        try {
            return NativeBuild.read(library);
        } catch (IOException e) {
            throw new NativeLibraryException("can't read " + library + ": " + e.getMessage());
        }
    }

    /** orpo4j's cache folder: {@code ORPO4J_CACHE_DIR}, else {@code $XDG_CACHE_HOME/orpo4j}, else ~/.cache/orpo4j. */
    static Path cacheDir() {
        String own = System.getenv("ORPO4J_CACHE_DIR");
        if (own != null && !own.isBlank()) {
            return Path.of(own);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("orpo4j");
    }

    /**
     * The jar's library as a file, {@code cache/native/jni-KEY-SHA/libdjl_torch.so} (SHA of its bytes, so a jar never
     * overwrites another's library, nor the build's cache in {@code cache/native/KEY}): written once, atomically.
     */
    private static Path extract(byte[] bytes, NativeBuild build) throws IOException {
        Path dir = cacheDir().resolve("native").resolve("jni-" + build.key() + "-" + shortHash(bytes));
        Path library = dir.resolve("libdjl_torch.so");
        if (Files.isRegularFile(library) && Files.size(library) == bytes.length) {
            return library;
        }
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "libdjl_torch", ".tmp");
        try {
            Files.write(tmp, bytes);
            moveAtomically(tmp, library);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return library;
    }

    /**
     * DJL's libtorch folder ({@code $DJL_CACHE_DIR/pytorch/VERSION-FLAVOR-CLASSIFIER}), extracted from the
     * pytorch-native jar as DJL itself does when this is the first start on the machine.
     */
    static Path djlLibtorch() {
        Platform platform = Platform.detectPlatform("pytorch");
        Path cache = Utils.getEngineCacheDir("pytorch");
        Path dir = cache.resolve(platform.getVersion() + '-' + platform.getFlavor() + '-' + platform.getClassifier());
        if (Files.isRegularFile(dir.resolve("libtorch.so"))) {
            return dir;
        }
        try {
            Files.createDirectories(cache);
            Path tmp = Files.createTempDirectory(cache, "tmp");
            try {
                for (String file : platform.getLibraries()) {
                    String resource = "pytorch/" + platform.getFlavor() + '/' + platform.getClassifier() + '/' + file;
                    try (InputStream in = ai.djl.util.ClassLoaderUtils.getResourceAsStream(resource)) {
                        Files.copy(in, tmp.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                Utils.moveQuietly(tmp, dir);
            } finally {
                Utils.deleteQuietly(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("extracting DJL's libtorch into " + dir, e);
        }
        if (!Files.isRegularFile(dir.resolve("libtorch.so"))) {
            throw new IllegalStateException("DJL's libtorch is not in " + dir + " after extracting it");
        }
        return dir;
    }

    /**
     * A folder DJL accepts as {@code PYTORCH_LIBRARY_PATH}: links to the libraries of DJL's libtorch folder and, as
     * {@code DJL_VERSION-libdjl_torch.so}, to {@code library}: {@code cache/native/libtorch-HASH}, named after both,
     * so a JVM with another DJL cache or another library gets its own; built in a temporary folder, renamed into place.
     */
    static Path runtimeFolder(Path library, Path libtorch) {
        Platform platform = Platform.detectPlatform("pytorch");
        Path parent = cacheDir().resolve("native");
        Path folder = parent.resolve("libtorch-" + shortHash(libtorch.toAbsolutePath() + "|" + library.toAbsolutePath()));
        String jni = platform.getApiVersion() + "-libdjl_torch.so";
        try {
            if (Files.isSymbolicLink(folder.resolve(jni)) && Files.isRegularFile(folder.resolve("libtorch.so"))) {
                return folder;
            }
            Files.createDirectories(parent);
            Path tmp = Files.createTempDirectory(parent, "libtorch");
            try {
                for (String file : platform.getLibraries()) {
                    Files.createSymbolicLink(tmp.resolve(file), libtorch.toAbsolutePath().resolve(file));
                }
                Files.createSymbolicLink(tmp.resolve(jni), library.toAbsolutePath());
                try {
                    Files.move(tmp, folder, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                    // another JVM made the same folder first
                }
            } finally {
                Utils.deleteQuietly(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("making the libtorch folder " + folder, e);
        }
        return folder;
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String shortHash(String s) {
        return shortHash(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String shortHash(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
