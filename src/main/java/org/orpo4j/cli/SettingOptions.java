package org.orpo4j.cli;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
        OptionSpec.Builder b = OptionSpec.builder(flag.name()).description(help(setting, flag));
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
     * the same setting, and a value a setting refuses, are bad usage naming the flags.
     */
    OrpoConfig apply(ParseResult parsed, OrpoConfig.Builder builder, CommandLine cmd) {
        Map<String, String> given = new LinkedHashMap<>(); // setting key -> the flag that set it
        Map<Flag, Object> values = new LinkedHashMap<>();
        flags.forEach((setting, flag) -> {
            if (parsed.hasMatchedOption(flag.name())) {
                values.put(flag, parsed.matchedOption(flag.name()).getValue());
            }
        });
        for (Map.Entry<Setting<?>, Flag> e : flags.entrySet()) {
            Flag flag = e.getValue();
            if (!values.containsKey(flag)) {
                continue;
            }
            Set<String> keys = new LinkedHashSet<>(List.of(e.getKey().key()));
            flag.also().forEach(a -> keys.add(a.key()));
            for (String key : keys) {
                String other = given.put(key, flag.name());
                if (other != null) {
                    throw new ParameterException(cmd, other + " and " + flag.name() + " exclude each other");
                }
            }
        }
        try {
            for (Map.Entry<Setting<?>, Flag> e : flags.entrySet()) {
                Flag flag = e.getValue();
                if (values.containsKey(flag)) {
                    set(builder, e.getKey(), flag, values.get(flag));
                }
            }
            return builder.build();
        } catch (InvalidSettingException e) {
            throw new ParameterException(cmd, describe(e, given));
        }
    }

    private static void set(OrpoConfig.Builder builder, Setting<?> setting, Flag flag, Object value) {
        String text = switch (flag.style()) {
            case SETS_TRUE -> "true";
            case SETS_FALSE -> "false";
            default -> String.valueOf(value); // NEGATABLE: false for --no-x
        };
        builder.setText(setting, text);
        for (Flag.Also also : flag.also()) {
            Setting<?> other = Settings.named(also.key()).orElseThrow();
            builder.setText(other, also.value() == null ? text : String.valueOf(also.value()));
        }
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
