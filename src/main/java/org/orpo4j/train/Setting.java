package org.orpo4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One training setting, declared once (TRL declares each as a dataclass field): its name, value kind, default,
 * check and help, and the command-line flag that sets it. {@link OrpoConfig} stores, reads, writes and validates
 * settings through these declarations, the CLI makes its options from them and the docs are checked against them.
 * The JSON name is the key in camelCase, TRL's snake_case spelling and any {@link #aliases()} are accepted too.
 *
 * @param <T> the value's Java type (nullable settings may hold null)
 */
public final class Setting<T> {

    private final String key;
    private final Kind<T> kind;
    private final T defaultValue;
    private final Check<T> check;
    private final String help;
    private final Flag flag;
    private final List<String> aliases;
    private final String snake; // TRL's spelling where the camelCase key does not spell it out, else null

    private Setting(String key, Kind<T> kind, T defaultValue, Check<T> check, String help, Flag flag,
            List<String> aliases, String snake) {
        this.key = key;
        this.kind = kind;
        this.defaultValue = defaultValue;
        this.check = check;
        this.help = help;
        this.flag = flag;
        this.aliases = List.copyOf(aliases);
        this.snake = snake;
    }

    /** A setting with no check, no flag and no help yet: complete it with the {@code with...} methods. */
    static <T> Setting<T> of(String key, Kind<T> kind, T defaultValue) {
        return new Setting<>(key, kind, defaultValue, Check.any(), "", null, List.of(), null);
    }

    Setting<T> check(Check<T> c) {
        return new Setting<>(key, kind, defaultValue, c, help, flag, aliases, snake);
    }

    Setting<T> help(String text) {
        return new Setting<>(key, kind, defaultValue, check, text, flag, aliases, snake);
    }

    Setting<T> flag(Flag f) {
        return new Setting<>(key, kind, defaultValue, check, help, f, aliases, snake);
    }

    Setting<T> alias(String name) {
        List<String> all = new ArrayList<>(aliases);
        all.add(name);
        return new Setting<>(key, kind, defaultValue, check, help, flag, all, snake);
    }

    /** TRL's snake_case name where it splits digits off ({@code load_in_4bit} for {@code loadIn4bit}). */
    Setting<T> snake(String name) {
        return new Setting<>(key, kind, defaultValue, check, help, flag, aliases, name);
    }

    /** The camelCase name: JSON key, builder method, getter. */
    public String key() {
        return key;
    }

    /** TRL's and HF's snake_case spelling of {@link #key()}. */
    public String snakeName() {
        if (snake != null) {
            return snake;
        }
        StringBuilder s = new StringBuilder();
        for (char c : key.toCharArray()) {
            if (Character.isUpperCase(c)) {
                s.append('_').append(Character.toLowerCase(c));
            } else {
                s.append(c);
            }
        }
        return s.toString();
    }

    /** Other names a config file may use ({@code orpoBeta} for {@code beta}), camelCase. */
    public List<String> aliases() {
        return aliases;
    }

    public Kind<T> kind() {
        return kind;
    }

    public T defaultValue() {
        return defaultValue;
    }

    public Check<T> check() {
        return check;
    }

    /** One line for the command-line help and the docs. */
    public String help() {
        return help;
    }

    /** The command-line flag that sets it, or null when it is set only by a config file or in Java. */
    public Flag flag() {
        return flag;
    }

    /** Throws {@link InvalidSettingException} naming this setting unless {@code value} passes the check. */
    void validate(T value) {
        if (value != null && !check.accepts(value)) {
            throw new InvalidSettingException(this, kind.show(value), check.expected());
        }
    }

    @Override
    public String toString() {
        return key;
    }

    // ------------------------------------------------------------------------------------------------ kinds

    /** How a value of one type is read from JSON and from command-line text, and written back. */
    public record Kind<T>(String expected, Function<JsonNode, T> json, Function<String, T> text,
            Function<T, JsonNode> write, Function<T, String> show) {

        /** The value a JSON node holds (JSON null for nullable kinds), or an error naming what was expected. */
        public T fromJson(JsonNode n) {
            if (n == null || n.isNull()) {
                return null;
            }
            T v = json.apply(n);
            if (v == null) {
                throw new IllegalArgumentException("expected " + expected + ", got " + n);
            }
            return v;
        }

        /** The value command-line {@code text} spells, or an error naming what was expected. */
        public T parse(String text) {
            T v;
            try {
                v = this.text.apply(text.strip());
            } catch (RuntimeException e) {
                v = null;
            }
            if (v == null) {
                throw new IllegalArgumentException("expected " + expected + ", got '" + text + "'");
            }
            return v;
        }

        public JsonNode toJson(T v) {
            return v == null ? JsonNodeFactory.instance.nullNode() : write.apply(v);
        }

        /** How docs and help texts print a value ({@code 1e-06}, {@code keep_end}, {@code null}). */
        public String show(T v) {
            return v == null ? "null" : show.apply(v);
        }

        static final Kind<Double> DECIMAL = new Kind<>("a number", n -> n.isNumber() ? n.doubleValue() : null,
                Double::parseDouble, JsonNodeFactory.instance::numberNode, Kind::decimal);
        static final Kind<Integer> INTEGER = new Kind<>("an integer",
                n -> n.isIntegralNumber() && n.canConvertToInt() ? n.intValue() : null, Integer::parseInt,
                JsonNodeFactory.instance::numberNode, i -> i.toString());
        static final Kind<Long> LONG = new Kind<>("an integer",
                n -> n.isIntegralNumber() && n.canConvertToLong() ? n.longValue() : null, Long::parseLong,
                JsonNodeFactory.instance::numberNode, l -> l.toString());
        static final Kind<Boolean> BOOLEAN = new Kind<>("true or false", n -> n.isBoolean() ? n.booleanValue() : null,
                t -> t.equalsIgnoreCase("true") ? Boolean.TRUE : t.equalsIgnoreCase("false") ? Boolean.FALSE : null,
                JsonNodeFactory.instance::booleanNode, b -> b.toString());
        static final Kind<String> TEXT = new Kind<>("a string", n -> n.isTextual() ? n.textValue() : null, t -> t,
                JsonNodeFactory.instance::textNode, s -> s);
        /** A JSON array of strings, one string, or a comma-separated string (TRL's CLI). */
        static final Kind<List<String>> TEXT_LIST = new Kind<>("a list of strings", Kind::textList,
                t -> List.of(t.split("\\s*,\\s*")), list -> {
                    var array = JsonNodeFactory.instance.arrayNode();
                    list.forEach(array::add);
                    return array;
                }, list -> String.join(",", list));

        /** {@code 1e-6} as {@code 0.000001}, {@code 1e-8} as {@code 1e-8}, {@code 3.0} as {@code 3}. */
        private static String decimal(double d) {
            return Double.isFinite(d) ? java.math.BigDecimal.valueOf(d).stripTrailingZeros().toString().replace("E", "e")
                    : Double.toString(d);
        }

        private static List<String> textList(JsonNode n) {
            if (n.isTextual()) {
                return List.of(n.textValue().split("\\s*,\\s*"));
            }
            if (!n.isArray()) {
                return null;
            }
            List<String> out = new ArrayList<>();
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    return null;
                }
                out.add(e.textValue());
            }
            return List.copyOf(out);
        }

        /** Names of a closed set: {@code parse} reads a name (its own rules), {@code name} writes it. */
        static <E> Kind<E> names(String expected, Function<String, E> parse, Function<E, String> name) {
            return new Kind<>(expected, n -> n.isTextual() ? parse.apply(n.textValue()) : null, parse,
                    v -> JsonNodeFactory.instance.textNode(name.apply(v)), name);
        }
    }

    // ----------------------------------------------------------------------------------------------- checks

    /**
     * What a value must be: a test, the words an error uses ({@code ">= 0"}), and one value that fails it, so
     * tests can try every check of the table.
     */
    public record Check<T>(Predicate<T> accepts, String expected, T counterexample) {

        public boolean accepts(T value) {
            return accepts.test(value);
        }

        static <T> Check<T> any() {
            return new Check<>(v -> true, "anything", null);
        }

        static Check<Double> atLeast(double min) {
            return new Check<>(v -> Double.isFinite(v) && v >= min, ">= " + plain(min), min - 1);
        }

        static Check<Double> above(double min) {
            return new Check<>(v -> Double.isFinite(v) && v > min, "> " + plain(min), min);
        }

        static Check<Double> finite() {
            return new Check<>(Double::isFinite, "finite", Double.NaN);
        }

        static Check<Double> notNaN() {
            return new Check<>(v -> !v.isNaN(), "a number", Double.NaN);
        }

        /** {@code [lo, hi]} or {@code [lo, hi)}. */
        static Check<Double> between(double lo, double hi, boolean hiIncluded) {
            return new Check<>(v -> v >= lo && (hiIncluded ? v <= hi : v < hi),
                    "in [" + plain(lo) + ", " + plain(hi) + (hiIncluded ? "]" : ")"), hi + 1);
        }

        static Check<Integer> positive() {
            return new Check<>(v -> v > 0, "> 0", 0);
        }

        static Check<Integer> nonNegative() {
            return new Check<>(v -> v >= 0, ">= 0", -1);
        }

        static Check<Long> positiveLong() {
            return new Check<>(v -> v > 0, "> 0", 0L);
        }

        static Check<String> notBlank() {
            return new Check<>(v -> !v.isBlank(), "a folder", " ");
        }

        static Check<String> oneOf(List<String> values) {
            return new Check<>(values::contains, "one of " + String.join(", ", values), "none of them");
        }

        static <T> Check<T> of(Predicate<T> test, String expected, T counterexample) {
            return new Check<>(test, expected, counterexample);
        }

        private static String plain(double d) {
            return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
        }
    }

    // ------------------------------------------------------------------------------------------------ flags

    /**
     * How {@code orpo4j train} sets a setting: a flag with a value ({@code --lr X}), a switch that sets true or
     * false ({@code --use-peft}, {@code --no-shuffle}), a negatable pair ({@code --[no-]shared-prompt}), or a value
     * that may be left out ({@code --resume [DIR]}). A flag may also set other settings ({@code --epochs} makes
     * {@code maxSteps} -1, {@code --batch-size} sets the evaluation batch too); two flags that set one setting to
     * different values exclude each other. A flag may have aliases, other spellings of it ({@code --eval-steps}, HF's
     * name, for {@code --eval-every}).
     */
    public record Flag(String name, String paramLabel, Style style, String fallback, List<Also> also,
            List<String> aliases) {

        /** How the flag takes its value. */
        public enum Style { VALUE, SETS_TRUE, SETS_FALSE, NEGATABLE, OPTIONAL_VALUE }

        /** Another setting a flag sets, by key: to a fixed value, or (value null) to the flag's own value. */
        public record Also(String key, Object value) {}

        public static Flag value(String name, String paramLabel) {
            return new Flag(name, paramLabel, Style.VALUE, null, List.of(), List.of());
        }

        static Flag setsTrue(String name) {
            return new Flag(name, null, Style.SETS_TRUE, null, List.of(), List.of());
        }

        static Flag setsFalse(String name) {
            return new Flag(name, null, Style.SETS_FALSE, null, List.of(), List.of());
        }

        static Flag negatable(String name) {
            return new Flag(name, null, Style.NEGATABLE, null, List.of(), List.of());
        }

        static Flag optionalValue(String name, String paramLabel, String fallback) {
            return new Flag(name, paramLabel, Style.OPTIONAL_VALUE, fallback, List.of(), List.of());
        }

        /** The flag also sets setting {@code key} to {@code value} (null: to the flag's own value). */
        Flag also(String key, Object value) {
            List<Also> all = new ArrayList<>(also);
            all.add(new Also(key, value));
            return new Flag(name, paramLabel, style, fallback, all, aliases);
        }

        /** The flag also answers to {@code alias}. */
        Flag alias(String alias) {
            List<String> all = new ArrayList<>(aliases);
            all.add(alias);
            return new Flag(name, paramLabel, style, fallback, also, List.copyOf(all));
        }

        /** The flag's name and its aliases. */
        public List<String> names() {
            List<String> all = new ArrayList<>(List.of(name));
            all.addAll(aliases);
            return all;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Setting<?> s && s.key.equals(key);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key);
    }

    /** Every name a config file may use for it: the key, its snake_case spelling, the aliases and theirs. */
    java.util.Set<String> names() {
        java.util.Set<String> names = new java.util.LinkedHashSet<>(List.of(key, snakeName()));
        for (String alias : aliases) {
            names.add(alias);
            names.add(of(alias, kind, defaultValue).snakeName());
        }
        return names;
    }
}
