package dev.hangar.interop;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Drives Hangar through the stock Arrow Flight SQL JDBC driver, as a JVM tool (DBeaver, DataGrip)
 * would: connect (user/password, or a token), DatabaseMetaData (catalogs, schemas, tables, columns,
 * keys, type info, quoting), a query, and a prepared statement with a parameter. Prints one JSON
 * line per check; exits 1 at the first failure (its line has the SQL state and message).
 *
 * <p>Usage: {@code HangarJdbcCheck URL BUCKET (user PASSWORD-USER PASSWORD | token TOKEN | none)}
 */
public final class HangarJdbcCheck {
  private HangarJdbcCheck() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: HangarJdbcCheck URL BUCKET (user NAME PASSWORD | token TOKEN | none)");
      System.exit(2);
    }
    String url = args[0];
    String bucket = args[1];
    Properties properties = new Properties();
    properties.setProperty("useEncryption", "false");
    // Properties the driver does not know travel as call headers: Hangar reads "bucket".
    properties.setProperty("bucket", bucket);
    switch (args[2]) {
      case "user" -> {
        properties.setProperty("user", args[3]);
        properties.setProperty("password", args[4]);
      }
      case "token" -> properties.setProperty("token", args[3]);
      default -> { }
    }
    String check = "connect";
    try (Connection connection = DriverManager.getConnection(url, properties)) {
      print(check, "\"product\":" + quote(connection.getMetaData().getDatabaseProductName()));

      DatabaseMetaData meta = connection.getMetaData();
      check = "catalogs";
      print(check, "\"values\":" + column(meta.getCatalogs(), "TABLE_CAT"));
      check = "schemas";
      print(check, "\"values\":" + column(meta.getSchemas(), "TABLE_SCHEM"));
      check = "tables";
      print(check, "\"values\":" + column(meta.getTables(null, bucket, "%", new String[] {"TABLE"}), "TABLE_NAME"));
      check = "columns";
      List<String> described = new ArrayList<>();
      try (ResultSet columns = meta.getColumns(null, bucket, "trades", "%")) {
        while (columns.next()) {
          described.add(quote(columns.getString("COLUMN_NAME") + ":" + columns.getInt("DATA_TYPE") + ":" + columns.getString("TYPE_NAME")));
        }
      }
      print(check, "\"values\":" + described);
      check = "primary_keys";
      print(check, "\"values\":" + column(meta.getPrimaryKeys(null, bucket, "trades"), "COLUMN_NAME"));
      check = "imported_keys";
      print(check, "\"values\":" + column(meta.getImportedKeys(null, bucket, "trades"), "PKCOLUMN_NAME"));
      check = "type_info";
      print(check, "\"values\":" + column(meta.getTypeInfo(), "TYPE_NAME"));
      check = "sql_info";
      print(check, "\"quote\":" + quote(meta.getIdentifierQuoteString()) + ",\"read_only\":" + meta.isReadOnly()
          + ",\"transactions\":" + meta.supportsTransactions() + ",\"schema_term\":" + quote(meta.getSchemaTerm()));

      check = "query";
      try (Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("SELECT sym, count(*) AS n FROM trades GROUP BY sym ORDER BY sym")) {
        List<String> values = new ArrayList<>();
        while (rows.next()) values.add(quote(rows.getString("sym") + "=" + rows.getLong("n")));
        print(check, "\"values\":" + values);
      }

      check = "prepared";
      try (PreparedStatement prepared = connection.prepareStatement("SELECT count(*) AS n FROM trades WHERE qty >= ?")) {
        List<String> counts = new ArrayList<>();
        for (long threshold : new long[] {0, 50, 1000}) {
          prepared.setLong(1, threshold);
          try (ResultSet rows = prepared.executeQuery()) {
            rows.next();
            counts.add(Long.toString(rows.getLong(1)));
          }
        }
        print(check, "\"values\":" + counts + ",\"type_name\":" + quote(prepared.getMetaData().getColumnTypeName(1)));
      }

      check = "refused_update";
      try (Statement statement = connection.createStatement()) {
        statement.executeUpdate("DELETE FROM trades");
        fail(check, "the update was not refused");
      } catch (SQLException expected) {
        print(check, "\"message\":" + quote(String.valueOf(expected.getMessage())));
      }
    } catch (SQLException error) {
      fail(check, error.getSQLState() + " " + error.getMessage());
    }
  }

  private static String column(ResultSet rows, String name) throws SQLException {
    List<String> values = new ArrayList<>();
    try (rows) {
      while (rows.next()) values.add(quote(rows.getString(name)));
    }
    return values.toString();
  }

  private static void print(String check, String fields) {
    System.out.println("{\"check\":" + quote(check) + ",\"ok\":true," + fields + "}");
  }

  private static void fail(String check, String message) {
    System.out.println("{\"check\":" + quote(check) + ",\"ok\":false,\"error\":" + quote(message) + "}");
    System.exit(1);
  }

  private static String quote(String text) {
    if (text == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    return out.append('"').toString();
  }
}
