package dev.mercuryobridge.ingest;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies Mercuryo's {@code X-Signature}: lowercase hex HMAC-SHA256 of the raw body with a Sign
 * Key. Several keys may be active at once (rotation).
 *
 * <p>One Mercuryo page describes a second variant: the HMAC of the body with all whitespace
 * removed. It cannot protect whitespace inside JSON strings ({@code "order42"} and
 * {@code "order 42"} have the same stripped form), so it is accepted only when enabled; the match
 * records which variant verified. When it is off and a refused body would have matched it, the
 * answer says so ({@link Verification#strippedVariantWouldMatch()}) so that the operator can be
 * told how to turn it on.
 *
 * <p>Every comparison is constant-time, and every key and variant is computed whatever matched,
 * so timing reveals neither which key nor how much of the signature matched.
 */
public final class SignatureVerifier {

    public enum Variant { RAW, WHITESPACE_STRIPPED;
        public String dbValue() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The variant named as in configuration and the database ({@code raw}, {@code whitespace_stripped}). */
        public static Variant fromName(String name) {
            for (Variant v : values()) {
                if (v.dbValue().equals(name)) {
                    return v;
                }
            }
            throw new IllegalArgumentException("unknown signature variant '" + name + "'");
        }
    }

    /** Which key (by its non-secret fingerprint) and which variant verified a body. */
    public record Match(int keyIndex, String keyFingerprint, Variant variant) {}

    /**
     * The result of a check: the match, or none; and, when none, whether the body would have
     * verified with the whitespace-stripped variant had it been enabled.
     */
    record Verification(Optional<Match> match, boolean strippedVariantWouldMatch) {}

    private static final int SIGNATURE_HEX_LENGTH = 64;

    private final List<SecretKeySpec> keys;
    private final List<String> fingerprints;
    private final boolean strippedEnabled;

    /** Raw variant only: the safe default. */
    public SignatureVerifier(List<String> signKeys) {
        this(signKeys, Set.of(Variant.RAW));
    }

    public SignatureVerifier(List<String> signKeys, Set<Variant> variants) {
        if (signKeys.isEmpty()) {
            throw new IllegalArgumentException("at least one sign key is required");
        }
        if (!variants.contains(Variant.RAW)) {
            throw new IllegalArgumentException("the raw variant is always accepted; whitespace_stripped only in addition");
        }
        this.keys = signKeys.stream()
                .map(k -> new SecretKeySpec(k.getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
                .toList();
        this.fingerprints = signKeys.stream().map(SignatureVerifier::fingerprint).toList();
        this.strippedEnabled = variants.contains(Variant.WHITESPACE_STRIPPED);
    }

    /**
     * Returns the match, or empty when the header is missing, malformed or matches no key with an
     * enabled variant. The header may be in upper or lower case hex; anything else is rejected.
     */
    public Optional<Match> verify(byte[] body, String signatureHeader) {
        return check(body, signatureHeader).match();
    }

    /** Like {@link #verify}, and also tells whether a refused body matches the disabled stripped variant. */
    public Verification check(byte[] body, String signatureHeader) {
        byte[] expected = decode(signatureHeader);
        if (expected == null) {
            return new Verification(Optional.empty(), false);
        }
        byte[] stripped = stripWhitespace(body);
        Match found = null;
        boolean strippedMatches = false;
        for (int i = 0; i < keys.size(); i++) {
            boolean raw = MessageDigest.isEqual(hmac(keys.get(i), body), expected);
            boolean ws = MessageDigest.isEqual(hmac(keys.get(i), stripped), expected);
            strippedMatches |= ws;
            if (found == null && raw) {
                found = new Match(i, fingerprints.get(i), Variant.RAW);
            } else if (found == null && ws && strippedEnabled) {
                found = new Match(i, fingerprints.get(i), Variant.WHITESPACE_STRIPPED);
            }
        }
        return new Verification(Optional.ofNullable(found), found == null && strippedMatches);
    }

    /** Lowercase hex HMAC-SHA256 of the body: what Mercuryo puts in X-Signature. */
    public static String sign(String key, byte[] body) {
        return HexFormat.of().formatHex(hmac(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"), body));
    }

    /** A stable, non-secret name for a key: the first 12 hex digits of its SHA-256. */
    public static String fingerprint(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] decode(String header) {
        if (header == null) {
            return null;
        }
        String h = header.trim();
        if (h.length() != SIGNATURE_HEX_LENGTH) {
            return null;
        }
        try {
            return HexFormat.of().parseHex(h.toLowerCase());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Removes ASCII whitespace (space, tab, CR, LF), as Mercuryo's whitespace variant describes. */
    static byte[] stripWhitespace(byte[] body) {
        byte[] out = new byte[body.length];
        int n = 0;
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                out[n++] = b;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static byte[] hmac(SecretKeySpec key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal(data);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
