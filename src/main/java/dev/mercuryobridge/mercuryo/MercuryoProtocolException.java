package dev.mercuryobridge.mercuryo;

/**
 * The answer is not Mercuryo's JSON: an HTML page, an empty 404, another content type, or a
 * 2xx whose {@code data} lacks what the API text documents. That is a misconfiguration (a wrong
 * {@code MERCURYO_API_BASE_URL}, a proxy in the way) or an API change, never a fact about our
 * money, so a reconciliation run that meets it fails as a whole and raises no finding from it.
 */
public final class MercuryoProtocolException extends RuntimeException {

    MercuryoProtocolException(String message) {
        super(message);
    }
}
