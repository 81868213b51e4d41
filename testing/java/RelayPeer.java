// A Java OpenWire peer on the relay, as Java's Gatekeeper and Gateway use it (ActiveMQ client,
// JMS TextMessages), for the interop tests of our STOMP relay client.
//   java RelayPeer receive <url> <queue> <timeoutMs>   prints READY, then "<class> <base64 UTF-8 text>"
//   java RelayPeer send <url> <queue> <base64 UTF-8 text>
// TLS material comes from the javax.net.ssl.* system properties.
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.jms.*;
import org.apache.activemq.ActiveMQSslConnectionFactory;

public class RelayPeer {
    public static void main(String[] args) throws Exception {
        ActiveMQSslConnectionFactory factory = new ActiveMQSslConnectionFactory(args[1]);
        factory.setKeyStore("file:" + System.getProperty("javax.net.ssl.keyStore"));
        factory.setKeyStorePassword(System.getProperty("javax.net.ssl.keyStorePassword"));
        factory.setKeyStoreType("PKCS12");
        factory.setTrustStore("file:" + System.getProperty("javax.net.ssl.trustStore"));
        factory.setTrustStorePassword(System.getProperty("javax.net.ssl.trustStorePassword"));
        factory.setTrustStoreType("PKCS12");
        Connection connection = factory.createConnection();
        connection.start();
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue queue = session.createQueue(args[2]);
        if (args[0].equals("receive")) {
            MessageConsumer consumer = session.createConsumer(queue);
            System.out.println("READY");
            System.out.flush();
            Message m = consumer.receive(Long.parseLong(args[3]));
            if (m == null) {
                System.out.println("NONE");
            } else if (m instanceof TextMessage) {
                String text = ((TextMessage) m).getText();
                System.out.println("TextMessage " + Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8)));
            } else {
                System.out.println(m.getClass().getSimpleName());
            }
        } else {
            MessageProducer producer = session.createProducer(queue);
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            String text = new String(Base64.getDecoder().decode(args[3]), StandardCharsets.UTF_8);
            producer.send(session.createTextMessage(text));
            System.out.println("SENT");
        }
        connection.close();
    }
}
