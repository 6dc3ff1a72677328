package org.orpo4j.tracking;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** This machine's name for run folders and event files, as HF and torch name them (safe as a file name). */
final class Hosts {

    private Hosts() {}

    static String name() {
        String name = System.getenv("HOSTNAME");
        if (name == null || name.isBlank()) {
            try {
                name = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                name = "localhost";
            }
        }
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
