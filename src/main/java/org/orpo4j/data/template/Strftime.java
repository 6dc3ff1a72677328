package org.orpo4j.data.template;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** Python's {@code datetime.strftime} in the C locale for the directives chat templates use. */
final class Strftime {

    private Strftime() {}

    static String format(LocalDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b', 'h' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'd' -> out.append(two(t.getDayOfMonth()));
                case 'e' -> out.append(String.format("%2d", t.getDayOfMonth()));
                case 'm' -> out.append(two(t.getMonthValue()));
                case 'y' -> out.append(two(t.getYear() % 100));
                case 'Y' -> out.append(t.getYear());
                case 'H' -> out.append(two(t.getHour()));
                case 'I' -> out.append(two(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12));
                case 'M' -> out.append(two(t.getMinute()));
                case 'S' -> out.append(two(t.getSecond()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                case 'w' -> out.append(t.getDayOfWeek().getValue() % 7);
                case 'F' -> out.append(t.getYear()).append('-').append(two(t.getMonthValue())).append('-')
                        .append(two(t.getDayOfMonth()));
                case '%' -> out.append('%');
                default -> throw new IllegalArgumentException("strftime directive %" + d + " is not supported");
            }
        }
        return out.toString();
    }

    private static String two(int v) {
        return v < 10 ? "0" + v : Integer.toString(v);
    }
}
