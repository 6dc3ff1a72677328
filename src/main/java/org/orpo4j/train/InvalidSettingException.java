package org.orpo4j.train;

/**
 * A setting whose value fails its check: names the setting, the value and what it must be, so that the library
 * says {@code loraR = 0 must be >= 1} and the command line, from the same exception, {@code --lora-r 0 must be
 * >= 1}.
 */
public final class InvalidSettingException extends IllegalArgumentException {

    private final transient Setting<?> setting;
    private final String value;
    private final String expected;

    InvalidSettingException(Setting<?> setting, String value, String expected) {
        super(setting.key() + " = " + value + " must be " + expected);
        this.setting = setting;
        this.value = value;
        this.expected = expected;
    }

    public Setting<?> setting() {
        return setting;
    }

    /** The value as it was given. */
    public String value() {
        return value;
    }

    /** What the value must be ({@code >= 1}, {@code in [0, 1)}, ...). */
    public String expected() {
        return expected;
    }
}
