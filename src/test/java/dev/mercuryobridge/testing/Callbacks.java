package dev.mercuryobridge.testing;

/** Callback bodies shaped like Mercuryo's (the reference sample, with the fields varied). */
public final class Callbacks {
    public static final String TRANSACTION_PATH = "/callbacks/mercuryo";
    public static final String SPEND_CARD_PATH = "/callbacks/mercuryo/spend-card";

    private Callbacks() {}

    /** The sample callback of the Mercuryo reference, byte for byte. */
    public static final String REFERENCE_SAMPLE = """
            {
            "data":{
            "id":"0ab3f70c72c0f5056",
            "fee":"11.80",
            "card":{
            "number":"1111"
            },
            "rate":"25756.99",
            "type":"buy",
            "user":{
            "email":"sf@mercuryo.io",
            "phone":"+3570000000",
            "uuid4":"b5086805-4b83-4415-8a00-5c1ad43210b6",
            "country_code":"de"
            },
            "amount":"0.00148310",
            "status":"paid",
            "currency":"BTC",
            "created_at":"2023-09-07 07:32:33",
            "updated_at":"2023-09-07 07:32:46",
            "fiat_amount":"50.00",
            "partner_fee":"0.00",
            "created_at_ts":1694071953,
            "fiat_currency":"USD",
            "updated_at_ts":1694071966,
            "payment_method":"card",
            "card_masked_pan":null,
            "merchant_transaction_id":"123"
            }
            }
            """;

    public static String transaction(String id, String type, String status, long updatedAtTs) {
        return """
                {"data":{"id":"%s","type":"%s","status":"%s","amount":"0.00148310","currency":"BTC",\
                "fiat_amount":"50.00","fiat_currency":"USD","fee":"11.80","partner_fee":"0.00","rate":"25756.99",\
                "payment_method":"card","merchant_transaction_id":"m-%s","created_at_ts":1694071953,\
                "updated_at_ts":%d,"user":{"uuid4":"b5086805-4b83-4415-8a00-5c1ad43210b6","email":"sf@mercuryo.io"}}}"""
                .formatted(id, type, status, id, updatedAtTs);
    }

    public static String cardStatusEvent(String eventId, String cardId, String status) {
        return cardStatusEvent(eventId, cardId, status, "b5086805-4b83-4415-8a00-5c1ad43210b6");
    }

    public static String cardStatusEvent(String eventId, String cardId, String status, String userUuid) {
        return """
                {"event_id":"%s","event_name":"card_status","card_id":"%s","status":"%s",\
                "user":{"uuid4":"%s"}}""".formatted(eventId, cardId, status, userUuid);
    }
}
