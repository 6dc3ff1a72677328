package org.orpo4j.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.orpo4j.train.InvalidSettingException;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.Setting;
import org.orpo4j.train.Setting.Flag;
import org.orpo4j.train.Settings;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Command-line options made from the settings table ({@link Settings}): one per flag, its help ending with the
 * setting's default, so flags, help texts and defaults cannot drift apart. After parsing, {@link #apply} sets every
 * given flag's setting (and what the flag also sets) on a builder, refuses two flags that set the same setting,
 * and words a bad value with the flag the user typed ({@code --lora-r 0 must be > 0}).
 */
final class SettingOptions {

    private final List<Setting<?>> settings;
    private final Map<Setting<?>, Flag> flags = new LinkedHashMap<>();

    /**
     * The options of {@code settings}, each under its table flag unless {@code renamed} gives another ({@code eval}
     * calls its evaluation batch size {@code --batch-size}).
     */
    SettingOptions(List<Setting<?>> settings, Map<Setting<?>, Flag> renamed) {
        this.settings = List.copyOf(settings);
        for (Setting<?> s : settings) {
            Flag f = renamed.containsKey(s) ? renamed.get(s) : s.flag();
            if (f != null) {
                flags.put(s, f);
            }
        }
    }

    /** Every flagged setting of the table, under its own flag: {@code train}'s options. */
    static SettingOptions train() {
        return new SettingOptions(Settings.ALL, Map.of());
    }

    /** Adds the options to {@code spec} (a picocli model transformer's job). */
    CommandSpec addTo(CommandSpec spec) {
        flags.forEach((setting, flag) -> spec.addOption(option(setting, flag)));
        return spec;
    }

    private static OptionSpec option(Setting<?> setting, Flag flag) {
        OptionSpec.Builder b = OptionSpec.builder(flag.names().toArray(String[]::new))
                .description(help(setting, flag));
        switch (flag.style()) {
            case VALUE -> b.type(String.class).arity("1").paramLabel(flag.paramLabel());
            case OPTIONAL_VALUE -> b.type(String.class).arity("0..1").paramLabel(flag.paramLabel())
                    .fallbackValue(flag.fallback());
            case SETS_TRUE, SETS_FALSE -> b.type(boolean.class).arity("0");
            case NEGATABLE -> b.type(Boolean.class).arity("0").negatable(true);
            default -> throw new IllegalStateException(flag.style().toString());
        }
        return b.build();
    }

    /** The setting's help, key and default: {@code Peak AdamW learning rate (learningRate). Default: 0.000001.} */
    private static String help(Setting<?> setting, Flag flag) {
        String text = setting.help();
        boolean switchOnly = flag.style() == Flag.Style.SETS_TRUE || flag.style() == Flag.Style.SETS_FALSE;
        return (text.endsWith(".") ? text.substring(0, text.length() - 1) : text) + " (" + setting.key() + ")."
                + (switchOnly ? "" : " Default: " + shown(setting) + ".");
    }

    private static <T> String shown(Setting<T> s) {
        return s.defaultValue() == null ? "none" : s.kind().show(s.defaultValue());
    }

    /** The flags of these options, by the setting they set. */
    Map<Setting<?>, Flag> flags() {
        return flags;
    }

    /**
     * Applies every flag given on {@code parsed}'s command line to {@code builder}, and builds. Two flags setting
     * the same setting to different values, and a value a setting refuses, are bad usage naming the flags as typed.
     */
    OrpoConfig apply(ParseResult parsed, OrpoConfig.Builder builder, CommandLine cmd) {
        Map<String, String> given = new LinkedHashMap<>(); // setting key -> the flag that set it, as typed
        Map<String, Object> setTo = new LinkedHashMap<>(); // setting key -> the value that flag set
        Map<Flag, Object> values = new LinkedHashMap<>();
        flags.forEach((setting, flag) -> {
            if (parsed.hasMatchedOption(flag.name())) {
                values.put(flag, parsed.matchedOption(flag.name()).getValue());
            }
        });
        try {
            for (Map.Entry<Setting<?>, Flag> e : flags.entrySet()) {
                Flag flag = e.getValue();
                if (!values.containsKey(flag)) {
                    continue;
                }
                String typed = typed(flag, parsed);
                Map<String, String> texts = texts(e.getKey(), flag, values.get(flag));
                for (Map.Entry<String, String> t : texts.entrySet()) {
                    Object value = parsedOrText(t.getKey(), t.getValue());
                    String other = given.put(t.getKey(), typed);
                    if (other != null && !Objects.equals(setTo.get(t.getKey()), value)) {
                        throw new ParameterException(cmd, other + " and " + typed + " exclude each other");
                    }
                    setTo.put(t.getKey(), value);
                    builder.setText(Settings.named(t.getKey()).orElseThrow(), t.getValue());
                }
            }
            return builder.build();
        } catch (InvalidSettingException e) {
            throw new ParameterException(cmd, describe(e, given));
        }
    }

    /** The text each setting gets from {@code flag}: its own setting's, then what the flag also sets. */
    private static Map<String, String> texts(Setting<?> setting, Flag flag, Object value) {
        String text = switch (flag.style()) {
            case SETS_TRUE -> "true";
            case SETS_FALSE -> "false";
            default -> String.valueOf(value); // NEGATABLE: false for --no-x
        };
        Map<String, String> texts = new LinkedHashMap<>();
        texts.put(setting.key(), text);
        for (Flag.Also also : flag.also()) {
            texts.put(also.key(), also.value() == null ? text : String.valueOf(also.value()));
        }
        return texts;
    }

    /** The value {@code text} spells for setting {@code key} (the text itself when it is not valid). */
    private static Object parsedOrText(String key, String text) {
        try {
            return Settings.named(key).orElseThrow().kind().parse(text);
        } catch (IllegalArgumentException e) {
            return text;
        }
    }

    /** The spelling of {@code flag} the user typed ({@code --eval-steps} or {@code --eval-every}). */
    private static String typed(Flag flag, ParseResult parsed) {
        for (String arg : parsed.originalArgs()) {
            for (String name : flag.names()) {
                if (arg.equals(name) || arg.startsWith(name + "=")) {
                    return name;
                }
            }
        }
        return flag.name();
    }

    /**
     * A refused value in the words of the command line: the flag that set it when one did ({@code --lora-r 0 must
     * be > 0}), the setting's name otherwise (a value from --config); settings named in the explanation are named by
     * their flags too.
     */
    static String describe(InvalidSettingException e, Map<String, String> given) {
        String subject = given.containsKey(e.setting().key()) ? given.get(e.setting().key()) + " " + e.value()
                : e.setting().key() + " = " + e.value();
        String expected = e.expected();
        for (Setting<?> s : Settings.ALL) {
            if (s.flag() != null && given.containsKey(s.key())) {
                expected = expected.replace("(" + s.key() + ")", "(" + given.get(s.key()) + ")");
            }
        }
        return subject + " must be " + expected;
    }

}
