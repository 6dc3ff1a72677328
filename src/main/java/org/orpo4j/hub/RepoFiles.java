package org.orpo4j.hub;

import java.nio.file.Path;

/**
 * File names a hub repository may list: relative paths of plain segments. Names come from the network and end up
 * as paths under a snapshot folder, so anything that could leave it is refused: absolute paths, {@code ..} or
 * {@code .} segments, empty segments, backslashes (a separator elsewhere), control characters.
 */
final class RepoFiles {

    private static final int MAX_LENGTH = 1024;

    private RepoFiles() {}

    static boolean safe(String name) {
        if (name.isEmpty() || name.length() > MAX_LENGTH || name.startsWith("/") || name.contains("\\")) {
            return false;
        }
        if (name.chars().anyMatch(c -> Character.isISOControl(c))) {
            return false;
        }
        for (String segment : name.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /** {@code folder.resolve(name)}, checked to stay inside {@code folder} (a second line of defence). */
    static Path inside(Path folder, String name) throws HubException {
        Path base = folder.toAbsolutePath().normalize();
        Path target = base.resolve(name).normalize();
        if (!safe(name) || !target.startsWith(base) || target.equals(base)) {
            throw new HubException("refusing file name '" + HubErrors.printable(name) + "': it leaves " + folder);
        }
        return target;
    }
}
