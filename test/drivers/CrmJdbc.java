// The main functions through the PostgreSQL JDBC driver, as Tableau and other
// JDBC tools call them: prepared statements with array parameters, composite
// and model values as readable strings, errors with their SQLSTATE.
// Usage: java -cp postgresql.jar:. CrmJdbc jdbc:postgresql://127.0.0.1:PORT/DB?user=postgres
import java.sql.*;

public class CrmJdbc {
    static int failures = 0;

    static void check(String name, boolean ok) {
        System.out.println("  jdbc: " + (ok ? "ok" : "FAILED") + ": " + name);
        if (!ok) failures++;
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT segment, count(*) FROM crm.rfm_analyze(?::regclass, ?, ?, ?, as_of => ?::timestamptz) GROUP BY 1")) {
                ps.setString(1, "drv_orders");
                ps.setString(2, "customer_id");
                ps.setString(3, "ordered_at");
                ps.setString(4, "amount");
                ps.setString(5, "2025-01-01");
                int groups = 0;
                try (ResultSet rs = ps.executeQuery()) { while (rs.next()) groups++; }
                check("rfm_analyze through a prepared statement (" + groups + " segments)", groups > 0);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT crm.weighted_score(?, ?)")) {
                ps.setArray(1, c.createArrayOf("float8", new Double[] {1.0, 2.0, 3.0}));
                ps.setArray(2, c.createArrayOf("float8", new Double[] {0.5, 0.25, 1.0}));
                try (ResultSet rs = ps.executeQuery()) { rs.next(); check("float8[] parameters", rs.getDouble(1) == 4.0); }
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT crm.campaign_uplift(treated, revenue), (crm.campaign_uplift(treated, revenue)).p_value FROM drv_results")) {
                rs.next();
                check("composite as a readable string: " + rs.getString(1).substring(0, 20) + "...", rs.getString(1).startsWith("("));
                check("composite field as a double", rs.getDouble(2) >= 0 && rs.getDouble(2) <= 1);
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT model FROM drv_models")) {
                rs.next();
                check("kmeans_model read as JSON text", rs.getString(1).contains("\"format\": \"crm.kmeans_model\""));
            }
            try (Statement st = c.createStatement()) {
                st.executeQuery("SELECT * FROM crm.rfm_analyze('drv_orders', 'customer_id', 'ordered_at', 'amount', bins => 11)");
                check("error raised", false);
            } catch (SQLException e) {
                check("error arrives with SQLSTATE " + e.getSQLState() + ": " + e.getMessage().split("\n")[0], "22023".equals(e.getSQLState()));
            }
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}
