package dev.hangar.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.Criteria;
import org.apache.arrow.flight.ErrorFlightMetadata;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.SyncPutListener;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Drives a running Hangar server with the stock Arrow Flight Java client and prints one JSON line
 * per check on stdout. On the first failed check it prints a line with {@code "ok": false}, the
 * error and (for Flight errors) the status the client saw, writes the stack trace to stderr and
 * exits with status 1. Usage errors exit with status 2.
 *
 * <pre>
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar target/hangar-java-check.jar \
 *     --port PORT [--host 127.0.0.1] [--user U --password P] [--large-rows 2000000] [--checks a,b]
 * </pre>
 *
 * Checks, in order: auth (only with --user), put, get, list, not_found, ping, timeout. With
 * --user every call after the handshake carries the bearer token the handshake returned.
 */
public final class HangarCheck {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> ALL_CHECKS =
      List.of("auth", "put", "get", "list", "not_found", "ping", "timeout");
  private static final int SMALL_ROWS = 1000;
  private static final int BATCH_ROWS = 100_000;

  private final String host;
  private final int port;
  private final String user;
  private final String password;
  private final int largeRows;
  private final Set<String> checks;

  private BufferAllocator allocator;
  private FlightClient client;
  /** The bearer token option from the handshake, or none without --user. */
  private CallOption[] auth = new CallOption[0];
  private String frame;
  private String currentCheck = "setup";

  private HangarCheck(String host, int port, String user, String password, int largeRows, Set<String> checks) {
    this.host = host;
    this.port = port;
    this.user = user;
    this.password = password;
    this.largeRows = largeRows;
    this.checks = checks;
  }

  public static void main(String[] args) {
    HangarCheck check;
    try {
      check = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("HangarCheck: " + e.getMessage());
      System.err.println(
          "usage: HangarCheck --port PORT [--host HOST] [--user U --password P] [--large-rows N] [--checks "
              + String.join(",", ALL_CHECKS) + "]");
      System.exit(2);
      return;
    }
    System.exit(check.run());
  }

  private static HangarCheck parse(String[] args) {
    String host = "127.0.0.1";
    Integer port = null;
    String user = null;
    String password = null;
    int largeRows = 2_000_000;
    Set<String> checks = new LinkedHashSet<>(ALL_CHECKS);
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("missing value after " + arg);
      }
      String value = args[++i];
      switch (arg) {
        case "--host" -> host = value;
        case "--port" -> port = Integer.parseInt(value);
        case "--user" -> user = value;
        case "--password" -> password = value;
        case "--large-rows" -> largeRows = Integer.parseInt(value);
        case "--checks" -> {
          checks = new LinkedHashSet<>(Arrays.asList(value.split(",")));
          for (String c : checks) {
            if (!ALL_CHECKS.contains(c)) throw new IllegalArgumentException("unknown check " + c);
          }
        }
        default -> throw new IllegalArgumentException("unknown option " + arg);
      }
    }
    if (port == null) throw new IllegalArgumentException("--port is required");
    if ((user == null) != (password == null)) {
      throw new IllegalArgumentException("--user and --password go together");
    }
    if (user == null) checks.remove("auth");
    if (checks.contains("get") && !checks.contains("put")) {
      throw new IllegalArgumentException("the get check reads the frame the put check writes");
    }
    return new HangarCheck(host, port, user, password, largeRows, checks);
  }

  private int run() {
    try {
      allocator = new RootAllocator(Long.MAX_VALUE);
      client = newClient();
      frame = "java_" + randomSuffix();
      if (user != null) checkAuth();
      if (checks.contains("put")) checkPut();
      if (checks.contains("get")) checkGet();
      if (checks.contains("list")) checkList();
      if (checks.contains("not_found")) checkNotFound();
      if (checks.contains("ping")) checkPing("ping");
      if (checks.contains("timeout")) checkTimeout();
      client.close();
      client = null;
      // Closing the allocator fails if any Arrow buffer leaked, which would be a client bug here.
      allocator.close();
      allocator = null;
      return 0;
    } catch (Throwable e) {
      fail(e);
      return 1;
    } finally {
      System.out.flush();
    }
  }

  private FlightClient newClient() {
    return FlightClient.builder(allocator, Location.forGrpcInsecure(host, port)).build();
  }

  // -- checks --------------------------------------------------------------------------------

  /** Basic → Bearer handshake, then a wrong password and a call without a token. */
  private void checkAuth() throws Exception {
    currentCheck = "auth";
    Optional<CredentialCallOption> bearer = client.authenticateBasicToken(user, password);
    require(bearer.isPresent(), "authenticateBasicToken returned no bearer token call option");
    auth = new CallOption[] {bearer.get()};

    FlightStatusCode wrongPassword;
    String wrongPasswordMessage;
    try (FlightClient other = newClient()) {
      try {
        Optional<CredentialCallOption> unexpected = other.authenticateBasicToken(user, password + "-wrong");
        throw new AssertionError("a wrong password was accepted (token option present: " + unexpected.isPresent() + ")");
      } catch (FlightRuntimeException e) {
        wrongPassword = e.status().code();
        wrongPasswordMessage = e.status().description();
      }
      require(wrongPassword == FlightStatusCode.UNAUTHENTICATED,
          "a wrong password failed with " + wrongPassword + " (" + wrongPasswordMessage + "), expected UNAUTHENTICATED");
    }

    FlightStatusCode noToken;
    try (FlightClient other = newClient()) {
      try {
        drain(other.doAction(new Action("ping")));
        throw new AssertionError("a ping without a token was accepted");
      } catch (FlightRuntimeException e) {
        noToken = e.status().code();
      }
    }
    require(noToken == FlightStatusCode.UNAUTHENTICATED,
        "a call without a token failed with " + noToken + ", expected UNAUTHENTICATED");

    ObjectNode line = line("auth");
    line.put("bearer", true);
    line.put("wrong_password", wrongPassword.name());
    line.put("wrong_password_message", wrongPasswordMessage);
    line.put("no_token", noToken.name());
    emit(line);
  }

  /** DoPut of 1000 rows (BigInt x = 1..1000, VarChar s with a null every 100th row). */
  private void checkPut() throws Exception {
    currentCheck = "put";
    JsonNode result = put(frame, SMALL_ROWS, SMALL_ROWS, true, auth);
    require(result.path("rowsWritten").asLong(-1) == SMALL_ROWS, "PutResult rowsWritten is not " + SMALL_ROWS + ": " + result);
    require(frame.equals(result.path("name").asText()), "PutResult names another frame: " + result);
    ObjectNode line = line("put");
    line.put("frame", frame);
    line.set("put_result", result);
    emit(line);
  }

  /** GetFlightInfo(PATH [name]) → the endpoint's ticket → DoGet, checking every value. */
  private void checkGet() throws Exception {
    currentCheck = "get";
    FlightInfo info = client.getInfo(FlightDescriptor.path(frame), auth);
    require(info.getRecords() == SMALL_ROWS, "FlightInfo total_records is " + info.getRecords());
    List<String> path = info.getDescriptor().getPath();
    require(!path.isEmpty() && frame.equals(path.get(0)), "FlightInfo descriptor path is " + path);
    List<FlightEndpoint> endpoints = info.getEndpoints();
    require(endpoints.size() == 1, "FlightInfo has " + endpoints.size() + " endpoints");
    Ticket ticket = endpoints.get(0).getTicket();
    List<String> fields = new ArrayList<>();
    for (Field f : info.getSchema().getFields()) fields.add(f.getName() + ":" + f.getType());

    long rows = 0;
    int batches = 0;
    try (FlightStream stream = client.getStream(ticket, auth)) {
      while (stream.next()) {
        VectorSchemaRoot root = stream.getRoot();
        BigIntVector x = (BigIntVector) root.getVector("x");
        VarCharVector s = (VarCharVector) root.getVector("s");
        require(x != null && s != null, "DoGet schema is " + root.getSchema());
        for (int i = 0; i < root.getRowCount(); i++) {
          long n = rows + i + 1;
          require(!x.isNull(i) && x.get(i) == n, "x at row " + (n - 1) + " is " + x.getObject(i) + ", expected " + n);
          String expected = stringFor(n);
          Object actual = s.getObject(i);
          String got = actual == null ? null : actual.toString();
          require(expected == null ? got == null : expected.equals(got),
              "s at row " + (n - 1) + " is " + got + ", expected " + expected);
        }
        rows += root.getRowCount();
        batches++;
      }
    }
    require(rows == SMALL_ROWS, "DoGet returned " + rows + " rows, expected " + SMALL_ROWS);
    ObjectNode line = line("get");
    line.put("rows", rows);
    line.put("batches", batches);
    line.put("total_records", info.getRecords());
    line.put("total_bytes", info.getBytes());
    line.set("descriptor_path", JSON.valueToTree(path));
    line.set("schema", JSON.valueToTree(fields));
    line.put("ticket", new String(ticket.getBytes(), StandardCharsets.UTF_8));
    emit(line);
  }

  /** ListFlights with empty criteria lists the default bucket, which holds the frame. */
  private void checkList() throws Exception {
    currentCheck = "list";
    List<String> names = new ArrayList<>();
    for (FlightInfo info : client.listFlights(Criteria.ALL, auth)) {
      names.add(info.getDescriptor().getPath().get(0));
    }
    require(!checks.contains("put") || names.contains(frame), "ListFlights does not list " + frame + ": " + names);
    ObjectNode line = line("list");
    line.put("count", names.size());
    line.put("contains_frame", names.contains(frame));
    emit(line);
  }

  /** GetFlightInfo of a missing frame is NOT_FOUND with Hangar's JSON detail in the trailers. */
  private void checkNotFound() throws Exception {
    currentCheck = "not_found";
    FlightRuntimeException error = null;
    try {
      FlightInfo info = client.getInfo(FlightDescriptor.path("no_such_frame_xyz"), auth);
      throw new AssertionError("GetFlightInfo of a missing frame answered " + info);
    } catch (FlightRuntimeException e) {
      error = e;
    }
    FlightStatusCode code = error.status().code();
    require(code == FlightStatusCode.NOT_FOUND,
        "GetFlightInfo of a missing frame failed with " + code + " (" + error.status().description() + "), expected NOT_FOUND");
    ObjectNode line = line("not_found");
    line.put("code", code.name());
    line.put("message", error.status().description());
    ErrorFlightMetadata metadata = error.status().metadata();
    ArrayNode keys = line.putArray("trailer_keys");
    if (metadata != null) {
      for (String key : metadata.keys()) keys.add(key);
      for (String key : List.of("x-hangar-error-bin", "grpc-status-details-bin")) {
        if (metadata.containsKey(key)) {
          byte[] raw = metadata.getByte(key);
          line.set(key, JSON.readTree(new String(raw, StandardCharsets.UTF_8)));
        }
      }
    }
    emit(line);
  }

  /** DoAction ping answers one result, "pong". */
  private void checkPing(String name) throws Exception {
    currentCheck = name;
    List<String> bodies = drain(client.doAction(new Action("ping"), auth));
    require(bodies.equals(List.of("pong")), "ping answered " + bodies);
    ObjectNode line = line(name);
    line.put("body", bodies.get(0));
    emit(line);
  }

  /**
   * Puts a large frame and reads it whole, then with a 1 ms deadline (TIMED_OUT) and with a
   * deadline that expires while a slow reader is mid-stream (TIMED_OUT), then pings and reads it
   * whole again.
   */
  private void checkTimeout() throws Exception {
    currentCheck = "timeout";
    String big = "java_big_" + randomSuffix();
    long putStart = System.nanoTime();
    JsonNode result = put(big, largeRows, BATCH_ROWS, false, auth);
    long putMs = (System.nanoTime() - putStart) / 1_000_000;
    require(result.path("rowsWritten").asLong(-1) == largeRows, "large PutResult: " + result);
    Ticket ticket = client.getInfo(FlightDescriptor.path(big), auth).getEndpoints().get(0).getTicket();

    // 1. Without a deadline the frame reads whole (this also warms the server's read cache, so
    //    that the slow read below gets batches before its deadline).
    Outcome warm = readWithDeadline(ticket, 0, 0);
    require(warm.code == null && warm.rows == largeRows,
        "reading the large frame: " + warm.describe() + ", expected " + largeRows + " rows");

    // 2. A 1 ms deadline: expires before (or just as) the server starts streaming.
    long start = System.nanoTime();
    Outcome tiny = readWithDeadline(ticket, 1, 0);
    require(tiny.code == FlightStatusCode.TIMED_OUT,
        "a DoGet with a 1 ms deadline ended with " + tiny.describe() + ", expected TIMED_OUT");
    long tinyMs = (System.nanoTime() - start) / 1_000_000;

    // 3. A 1 s deadline with a reader that sleeps 250 ms per batch (the frame is ~16 batches):
    //    expires mid-stream, while the server is held back by flow control.
    start = System.nanoTime();
    Outcome slow = readWithDeadline(ticket, 1000, 250);
    require(slow.code == FlightStatusCode.TIMED_OUT,
        "a slow DoGet with a 1 s deadline ended with " + slow.describe() + ", expected TIMED_OUT");
    long slowMs = (System.nanoTime() - start) / 1_000_000;

    // 4. The server still answers, and the frame still reads whole.
    List<String> bodies = drain(client.doAction(new Action("ping"), auth));
    require(bodies.equals(List.of("pong")), "ping after the deadlines answered " + bodies);
    Outcome full = readWithDeadline(ticket, 0, 0);
    require(full.code == null && full.rows == largeRows,
        "reading the large frame after the deadlines: " + full.describe() + ", expected " + largeRows + " rows");

    ObjectNode line = line("timeout");
    line.put("frame", big);
    line.put("rows", largeRows);
    line.put("put_ms", putMs);
    line.put("first_read_batches", warm.batches);
    line.put("tiny_deadline_code", tiny.code.name());
    line.put("tiny_deadline_message", tiny.message);
    line.put("tiny_deadline_rows_read", tiny.rows);
    line.put("tiny_deadline_ms", tinyMs);
    line.put("mid_stream_code", slow.code.name());
    line.put("mid_stream_message", slow.message);
    line.put("mid_stream_rows_read", slow.rows);
    line.put("mid_stream_batches_read", slow.batches);
    line.put("mid_stream_ms", slowMs);
    line.put("ping_after", bodies.get(0));
    line.put("full_read_rows", full.rows);
    line.put("full_read_batches", full.batches);
    emit(line);
  }

  // -- helpers -------------------------------------------------------------------------------

  /** What reading a stream came to: rows and batches read, and the Flight error code if it failed. */
  private static final class Outcome {
    long rows;
    int batches;
    FlightStatusCode code;
    String message;

    String describe() {
      return code == null ? "success after " + rows + " rows in " + batches + " batches"
          : code + " (" + message + ") after " + rows + " rows in " + batches + " batches";
    }
  }

  /** Reads a DoGet stream to its end, sleeping after each batch; {@code deadlineMs} 0: no deadline. */
  private Outcome readWithDeadline(Ticket ticket, long deadlineMs, long sleepPerBatchMs) throws Exception {
    CallOption[] options = auth;
    if (deadlineMs > 0) {
      options = Arrays.copyOf(auth, auth.length + 1);
      options[auth.length] = CallOptions.timeout(deadlineMs, TimeUnit.MILLISECONDS);
    }
    Outcome outcome = new Outcome();
    FlightStream stream = null;
    try {
      stream = client.getStream(ticket, options);
      while (stream.next()) {
        outcome.rows += stream.getRoot().getRowCount();
        outcome.batches++;
        if (sleepPerBatchMs > 0) Thread.sleep(sleepPerBatchMs);
      }
    } catch (FlightRuntimeException e) {
      outcome.code = e.status().code();
      outcome.message = e.status().description();
    } finally {
      if (stream != null) {
        try {
          stream.close();
        } catch (FlightRuntimeException e) {
          // Closing a stream whose call already failed may rethrow the failure; the outcome has it.
          if (outcome.code == null) {
            outcome.code = e.status().code();
            outcome.message = e.status().description();
          }
        }
      }
    }
    return outcome;
  }

  /**
   * DoPut of {@code rows} rows in batches of {@code batchRows} to PATH [name]; returns the
   * PutResult's app_metadata as JSON. The put is finished (completed + getResult) before returning.
   */
  private JsonNode put(String name, int rows, int batchRows, boolean withNulls, CallOption... options) throws Exception {
    Schema schema = new Schema(List.of(
        new Field("x", FieldType.notNullable(new ArrowType.Int(64, true)), null),
        new Field("s", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
    try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
        SyncPutListener listener = new SyncPutListener()) {
      FlightClient.ClientStreamListener stream =
          client.startPut(FlightDescriptor.path(name), root, listener, options);
      try {
        BigIntVector x = (BigIntVector) root.getVector("x");
        VarCharVector s = (VarCharVector) root.getVector("s");
        for (int offset = 0; offset < rows; offset += batchRows) {
          int n = Math.min(batchRows, rows - offset);
          // Fresh buffers per batch: the previous batch's message may still hold the old ones.
          root.allocateNew();
          for (int i = 0; i < n; i++) {
            long value = offset + i + 1;
            x.setSafe(i, value);
            String text = withNulls ? stringFor(value) : "v" + value;
            if (text == null) {
              s.setNull(i);
            } else {
              s.setSafe(i, text.getBytes(StandardCharsets.UTF_8));
            }
          }
          root.setRowCount(n);
          stream.putNext();
        }
        stream.completed();
      } catch (Throwable e) {
        stream.error(e);
        throw e;
      }
      PutResult result = listener.read();
      require(result != null, "the server sent no PutResult");
      String text;
      try (PutResult owned = result) {
        ArrowBuf metadata = owned.getApplicationMetadata();
        require(metadata != null, "the PutResult has no app_metadata");
        byte[] bytes = new byte[(int) metadata.readableBytes()];
        metadata.getBytes(0, bytes);
        text = new String(bytes, StandardCharsets.UTF_8);
      }
      // Waits for the call to end; throws the server's error if the put failed.
      stream.getResult();
      return JSON.readTree(text);
    }
  }

  private static String stringFor(long n) {
    return n % 100 == 0 ? null : "row-" + n + "-\u00e9";
  }

  private static List<String> drain(Iterator<Result> results) {
    List<String> bodies = new ArrayList<>();
    while (results.hasNext()) bodies.add(new String(results.next().getBody(), StandardCharsets.UTF_8));
    return bodies;
  }

  private static String randomSuffix() {
    byte[] bytes = new byte[6];
    new SecureRandom().nextBytes(bytes);
    StringBuilder sb = new StringBuilder();
    for (byte b : bytes) sb.append(String.format("%02x", b));
    return sb.toString();
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new AssertionError(message);
  }

  private ObjectNode line(String check) {
    ObjectNode node = JSON.createObjectNode();
    node.put("check", check);
    node.put("ok", true);
    return node;
  }

  private static void emit(ObjectNode node) {
    try {
      System.out.println(JSON.writeValueAsString(node));
      System.out.flush();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void fail(Throwable e) {
    ObjectNode node = JSON.createObjectNode();
    node.put("check", currentCheck);
    node.put("ok", false);
    node.put("error", e.getClass().getName() + ": " + e.getMessage());
    // The Flight status, also when it arrives wrapped (SyncPutListener wraps it in an ExecutionException).
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof FlightRuntimeException flight) {
        node.put("code", flight.status().code().name());
        node.put("message", flight.status().description());
        if (flight.status().cause() != null) node.put("cause", flight.status().cause().toString());
        break;
      }
    }
    StringWriter trace = new StringWriter();
    e.printStackTrace(new PrintWriter(trace));
    node.put("stack", trace.toString());
    emit(node);
    System.err.println("HangarCheck: check '" + currentCheck + "' failed: " + e);
    e.printStackTrace();
  }
}
