package org.orpo4j.data.template;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code str} methods chat templates call ({@code content.startswith(...)}, {@code .split('</think>')},
 * {@code .strip('\n')}, ...) with CPython's semantics: whitespace as {@code str.isspace}, {@code split()}
 * without a separator dropping empty parts, code points rather than UTF-16 units. A result longer than a render
 * may be ({@link JinjaEngine#MAX_OUTPUT}) is refused before it is built: {@code s.replace('', s)} would otherwise
 * allocate |s|² characters in one call.
 */
final class PyStr {

    private PyStr() {}

    /** Calls Python's {@code s.name(*args)}; unknown methods fail like Python's AttributeError. */
    static Object call(String s, String name, Object[] args) {
        return switch (name) {
            case "startswith" -> affix(s, args, true);
            case "endswith" -> affix(s, args, false);
            case "split" -> split(s, optString(args, 0), optInt(args, 1, -1));
            case "rsplit" -> rsplit(s, optString(args, 0), optInt(args, 1, -1));
            case "strip" -> strip(s, optString(args, 0), true, true);
            case "lstrip" -> strip(s, optString(args, 0), true, false);
            case "rstrip" -> strip(s, optString(args, 0), false, true);
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : new StringBuilder().appendCodePoint(Character.toUpperCase(s.codePointAt(0)))
                            .append(s.substring(Character.charCount(s.codePointAt(0))).toLowerCase(java.util.Locale.ROOT))
                            .toString();
            case "replace" -> replace(s, str(args, 0), str(args, 1), optInt(args, 2, -1));
            case "find" -> codePointIndex(s, s.indexOf(str(args, 0)));
            case "rfind" -> codePointIndex(s, s.lastIndexOf(str(args, 0)));
            case "count" -> count(s, str(args, 0));
            case "join" -> join(s, args);
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PyStr::isSpace);
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase)
                    && s.codePoints().noneMatch(Character::isLowerCase);
            case "islower" -> s.codePoints().anyMatch(Character::isLowerCase)
                    && s.codePoints().noneMatch(Character::isUpperCase);
            case "splitlines" -> List.of(s.split("\r\n|[\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]", -1))
                    .subList(0, trailingLinesEnd(s));
            default -> throw new IllegalArgumentException("'str' object has no attribute '" + name + "'");
        };
    }

    /** Python's {@code str.isspace} for one code point. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85 || (c >= 0x1c && c <= 0x1f);
    }

    /** Python's {@code s.strip(chars)} (chars null: whitespace) on the chosen sides. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int[] cps = s.codePoints().toArray();
        int from = 0;
        int to = cps.length;
        while (left && from < to && stripped(cps[from], chars)) {
            from++;
        }
        while (right && to > from && stripped(cps[to - 1], chars)) {
            to--;
        }
        return new String(cps, from, to - from);
    }

    private static boolean stripped(int c, String chars) {
        return chars == null ? isSpace(c) : chars.codePoints().anyMatch(x -> x == c);
    }

    private static boolean affix(String s, Object[] args, boolean start) {
        if (args.length > 1) {
            throw new IllegalArgumentException((start ? "startswith" : "endswith") + ": start/end arguments are not supported");
        }
        List<?> options = PyValues.asList(args.length == 0 ? null : args[0]);
        if (options == null) {
            String a = str(args, 0);
            return start ? s.startsWith(a) : s.endsWith(a);
        }
        for (Object o : options) {
            String a = String.valueOf(o);
            if (start ? s.startsWith(a) : s.endsWith(a)) {
                return true;
            }
        }
        return false;
    }

    private static List<String> split(String s, String sep, int maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int[] cps = s.codePoints().toArray();
            int i = 0;
            while (true) {
                while (i < cps.length && isSpace(cps[i])) {
                    i++;
                }
                if (i == cps.length) {
                    return out;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(strip(new String(cps, i, cps.length - i), null, false, true));
                    return out;
                }
                int j = i;
                while (j < cps.length && !isSpace(cps[j])) {
                    j++;
                }
                out.add(new String(cps, i, j - i));
                i = j;
            }
        }
        requireSeparator(sep);
        int from = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static List<String> rsplit(String s, String sep, int maxsplit) {
        if (maxsplit < 0) {
            return split(s, sep, -1);
        }
        if (sep == null) {
            List<String> reversed = split(new StringBuilder(s).reverse().toString(), null, maxsplit);
            List<String> out = new ArrayList<>();
            for (int i = reversed.size() - 1; i >= 0; i--) {
                out.add(new StringBuilder(reversed.get(i)).reverse().toString());
            }
            return out;
        }
        requireSeparator(sep);
        List<String> out = new ArrayList<>();
        int to = s.length();
        while (out.size() < maxsplit) {
            int at = s.lastIndexOf(sep, to - sep.length());
            if (at < 0) {
                break;
            }
            out.add(0, s.substring(at + sep.length(), to));
            to = at;
        }
        out.add(0, s.substring(0, to));
        return out;
    }

    private static void requireSeparator(String sep) {
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder();
        boolean previousCased = false;
        for (int c : s.codePoints().toArray()) {
            out.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
        }
        return out.toString();
    }

    private static String replace(String s, String old, String with, int count) {
        long places = old.isEmpty() ? s.length() + 1L : count(s, old);
        bounded(s.length() + Math.min(places, count < 0 ? places : count) * (with.length() - (long) old.length()));
        if (count < 0) {
            return s.replace(old, with);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int at = s.indexOf(old, from);
            if (at < 0 || old.isEmpty()) {
                break;
            }
            out.append(s, from, at).append(with);
            from = at + old.length();
        }
        return out.append(s.substring(from)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.codePointCount(0, s.length()) + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String s, Object[] args) {
        List<?> parts = PyValues.asList(args.length == 1 ? args[0] : null);
        if (parts == null) {
            throw new IllegalArgumentException("join() takes one list argument");
        }
        List<String> strings = new ArrayList<>();
        long length = 0;
        for (Object p : parts) {
            if (!(p instanceof String ps)) {
                throw new IllegalArgumentException("sequence item: expected str instance, " + PyValues.typeName(p) + " found");
            }
            strings.add(ps);
            length += ps.length() + (long) s.length();
        }
        bounded(length);
        return String.join(s, strings);
    }

    /** Refuses to build a string of {@code length} characters when a render may not produce that many. */
    private static void bounded(long length) {
        if (length > JinjaEngine.MAX_OUTPUT) {
            throw new JinjaEngine.OverLimit("the chat template builds a string of " + length + " characters (at"
                    + " most " + JinjaEngine.MAX_OUTPUT + ")");
        }
    }

    private static int codePointIndex(String s, int charIndex) {
        return charIndex < 0 ? -1 : s.codePointCount(0, charIndex);
    }

    private static int trailingLinesEnd(String s) {
        String[] parts = s.split("\r\n|[\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]", -1);
        return parts.length > 0 && parts[parts.length - 1].isEmpty() ? parts.length - 1 : parts.length;
    }

    private static String str(Object[] args, int i) {
        if (i >= args.length || !(args[i] instanceof String s)) {
            throw new IllegalArgumentException("argument " + (i + 1) + " must be a str");
        }
        return s;
    }

    private static String optString(Object[] args, int i) {
        return i < args.length && args[i] != null ? str(args, i) : null;
    }

    private static int optInt(Object[] args, int i, int dflt) {
        if (i >= args.length || args[i] == null) {
            return dflt;
        }
        if (!(args[i] instanceof Number n)) {
            throw new IllegalArgumentException("argument " + (i + 1) + " must be an int");
        }
        return n.intValue();
    }
}
