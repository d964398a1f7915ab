// Command goclient drives a running Hangar server with the stock Go Arrow Flight client
// (github.com/apache/arrow-go/v18/arrow/flight over google.golang.org/grpc) and prints one JSON
// line per check: {"check": NAME, "ok": true, ...details}. On the first failed check it prints
// {"check": NAME, "ok": false, "error": ...}, repeats the message on stderr and exits with status 1.
//
//	go run . -addr 127.0.0.1:PORT [-user U -password P]
//
// It is used by tests/interop/test_go_client.py; it only uses plain Flight calls and the client's
// default limits (4 MiB receive messages), as any Go program would.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	smallRows      = 1000
	missingFrame   = "no_such_frame_xyz"
	errorTrailer   = "x-hangar-error-bin"
	callTimeout    = 120 * time.Second
	bigBatchRows   = 65536
	midStreamAfter = 300 * time.Millisecond
)

var mem = memory.NewGoAllocator()

// ---- output ----------------------------------------------------------------------------------

func emit(check string, fields map[string]any) {
	line := map[string]any{"check": check, "ok": true}
	for k, v := range fields {
		line[k] = v
	}
	b, err := json.Marshal(line)
	if err != nil {
		fail(check, "cannot encode result: %v", err)
	}
	fmt.Println(string(b))
}

func fail(check string, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b, _ := json.Marshal(map[string]any{"check": check, "ok": false, "error": msg})
	fmt.Println(string(b))
	fmt.Fprintf(os.Stderr, "goclient: check %s failed: %s\n", check, msg)
	os.Exit(1)
}

// describe renders an error with its gRPC status code and message.
func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s: %s", st.Code(), st.Message())
	}
	return err.Error()
}

func mdJSON(md metadata.MD) map[string][]string {
	out := map[string][]string{}
	for k, vs := range md {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ---- data ------------------------------------------------------------------------------------

var smallSchema = arrow.NewSchema([]arrow.Field{
	{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var bigSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: false},
}, nil)

// smallValue is the expected "s" of row x (1-based); every 100th row is null.
func smallValue(x int64) (string, bool) {
	if x%100 == 0 {
		return "", false
	}
	return fmt.Sprintf("row-%d-é✓", x), true
}

func smallBatch() arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, smallSchema)
	defer b.Release()
	xs := b.Field(0).(*array.Int64Builder)
	ss := b.Field(1).(*array.StringBuilder)
	for x := int64(1); x <= smallRows; x++ {
		xs.Append(x)
		if v, ok := smallValue(x); ok {
			ss.Append(v)
		} else {
			ss.AppendNull()
		}
	}
	return b.NewRecordBatch()
}

func bigBatch(start, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, bigSchema)
	defer b.Release()
	is := b.Field(0).(*array.Int64Builder)
	vs := b.Field(1).(*array.Float64Builder)
	is.Reserve(int(n))
	vs.Reserve(int(n))
	for i := start; i < start+n; i++ {
		is.UnsafeAppend(i)
		vs.UnsafeAppend(float64(i) * 0.5)
	}
	return b.NewRecordBatch()
}

func randomName(prefix string) string {
	buf := make([]byte, 6)
	if _, err := rand.Read(buf); err != nil {
		fail("setup", "crypto/rand: %v", err)
	}
	return prefix + hex.EncodeToString(buf)
}

func pathDescriptor(segments ...string) *flight.FlightDescriptor {
	return &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: segments}
}

// ---- Flight helpers --------------------------------------------------------------------------

// put streams the batches produced by next (until it returns nil) as a DoPut on desc and returns
// the PutResult's app_metadata decoded as JSON.
func put(ctx context.Context, client flight.Client, desc *flight.FlightDescriptor, schema *arrow.Schema, next func() arrow.RecordBatch) (map[string]any, int, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	stream, err := client.DoPut(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("DoPut: %s", describe(err))
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	w.SetFlightDescriptor(desc)
	for rec := next(); rec != nil; rec = next() {
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			// The server ended the call: its status is what Recv reports.
			_, rerr := stream.Recv()
			return nil, 0, fmt.Errorf("DoPut write: %v (server: %s)", err, describe(rerr))
		}
	}
	if err := w.Close(); err != nil {
		return nil, 0, fmt.Errorf("DoPut close writer: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return nil, 0, fmt.Errorf("DoPut CloseSend: %v", err)
	}
	var results [][]byte
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("DoPut result: %s", describe(err))
		}
		results = append(results, res.GetAppMetadata())
	}
	if len(results) == 0 {
		return nil, 0, errors.New("the server sent no PutResult")
	}
	var meta map[string]any
	if err := json.Unmarshal(results[0], &meta); err != nil {
		return nil, len(results), fmt.Errorf("PutResult app_metadata is not JSON: %q", results[0])
	}
	return meta, len(results), nil
}

// readAll reads a DoGet stream to its end, calling each with every batch (released afterwards).
func readAll(stream flight.FlightService_DoGetClient, each func(arrow.RecordBatch) error) (*arrow.Schema, int, error) {
	rdr, err := flight.NewRecordReader(stream, ipc.WithAllocator(mem))
	if err != nil {
		return nil, 0, err
	}
	defer rdr.Release()
	batches := 0
	for rdr.Next() {
		batches++
		if err := each(rdr.RecordBatch()); err != nil {
			return rdr.Schema(), batches, err
		}
	}
	if err := rdr.Err(); err != nil && err != io.EOF {
		return rdr.Schema(), batches, err
	}
	return rdr.Schema(), batches, nil
}

func ticketFor(ctx context.Context, client flight.Client, name string) (*flight.FlightInfo, *flight.Ticket, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	info, err := client.GetFlightInfo(ctx, pathDescriptor(name))
	if err != nil {
		return nil, nil, fmt.Errorf("GetFlightInfo(PATH [%s]): %s", name, describe(err))
	}
	if len(info.GetEndpoint()) == 0 || info.GetEndpoint()[0].GetTicket() == nil {
		return info, nil, fmt.Errorf("GetFlightInfo(PATH [%s]) returned no endpoint with a ticket", name)
	}
	return info, info.GetEndpoint()[0].GetTicket(), nil
}

func ping(ctx context.Context, client flight.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := client.DoAction(ctx, &flight.Action{Type: "ping"})
	if err != nil {
		return "", err
	}
	var bodies []string
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		bodies = append(bodies, string(res.GetBody()))
	}
	if len(bodies) != 1 {
		return "", fmt.Errorf("ping answered %d results: %q", len(bodies), bodies)
	}
	return bodies[0], nil
}

func action(ctx context.Context, client flight.Client, kind string, body any) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	stream, err := client.DoAction(ctx, &flight.Action{Type: kind, Body: raw})
	if err != nil {
		return nil, err
	}
	var bodies []string
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			return bodies, nil
		}
		if err != nil {
			return bodies, err
		}
		bodies = append(bodies, string(res.GetBody()))
	}
}

// errorDetail decodes the x-hangar-error-bin trailer (grpc-go has already base64-decoded it).
func errorDetail(md metadata.MD) (map[string]any, error) {
	vals := md.Get(errorTrailer)
	if len(vals) == 0 {
		return nil, fmt.Errorf("no %s trailer (trailers: %v)", errorTrailer, mdJSON(md))
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(vals[0]), &detail); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %q", errorTrailer, vals[0])
	}
	return detail, nil
}

// ---- checks ----------------------------------------------------------------------------------

func checkAuth(client flight.Client, user, password string) context.Context {
	base := context.Background()

	// A call without any credentials is refused.
	var trailer metadata.MD
	ctx, cancel := context.WithTimeout(base, 30*time.Second)
	stream, err := client.DoAction(ctx, &flight.Action{Type: "ping"}, grpc.Trailer(&trailer))
	if err == nil {
		_, err = stream.Recv()
	}
	cancel()
	if status.Code(err) != codes.Unauthenticated {
		fail("auth_no_token", "ping without credentials: want Unauthenticated, got %s", describe(err))
	}
	emit("auth_no_token", map[string]any{"code": status.Code(err).String(), "message": status.Convert(err).Message()})

	// A wrong password is refused by the Handshake.
	trailer = nil
	ctx, cancel = context.WithTimeout(base, 30*time.Second)
	_, err = client.AuthenticateBasicToken(ctx, user, password+"-wrong", grpc.Trailer(&trailer))
	cancel()
	if err == nil {
		fail("auth_wrong_password", "AuthenticateBasicToken with a wrong password succeeded")
	}
	if status.Code(err) != codes.Unauthenticated {
		fail("auth_wrong_password", "want Unauthenticated, got %s", describe(err))
	}
	fields := map[string]any{"code": status.Code(err).String(), "message": status.Convert(err).Message()}
	if detail, derr := errorDetail(trailer); derr == nil {
		fields["detail"] = detail
	} else {
		fields["detail_error"] = derr.Error()
	}
	emit("auth_wrong_password", fields)

	// The right password gives a context carrying "authorization: Bearer …".
	ctx, cancel = context.WithTimeout(base, 30*time.Second)
	authed, err := client.AuthenticateBasicToken(ctx, user, password)
	cancel()
	if err != nil {
		fail("auth_basic_token", "AuthenticateBasicToken(%q): %s", user, describe(err))
	}
	md, _ := metadata.FromOutgoingContext(authed)
	tokens := md.Get("authorization")
	if len(tokens) == 0 || !strings.HasPrefix(tokens[len(tokens)-1], "Bearer ") {
		fail("auth_basic_token", "the returned context carries no Bearer authorization: %v", mdJSON(md))
	}
	// The deadline of the Handshake context must not leak into later calls: rebuild on Background.
	authed = metadata.NewOutgoingContext(base, md)
	body, err := ping(authed, client)
	if err != nil || body != "pong" {
		fail("auth_basic_token", "ping with the token: body %q, error %s", body, describe(err))
	}
	emit("auth_basic_token", map[string]any{"user": user, "bearer": true})
	return authed
}

func checkPut(ctx context.Context, client flight.Client, name string) {
	sent := false
	meta, n, err := put(ctx, client, pathDescriptor(name), smallSchema, func() arrow.RecordBatch {
		if sent {
			return nil
		}
		sent = true
		return smallBatch()
	})
	if err != nil {
		fail("put", "%v", err)
	}
	if n != 1 {
		fail("put", "want one PutResult, got %d", n)
	}
	if meta["name"] != name {
		fail("put", "PutResult name %v, want %q (%v)", meta["name"], name, meta)
	}
	if rw, _ := meta["rowsWritten"].(float64); rw != smallRows {
		fail("put", "PutResult rowsWritten %v, want %d (%v)", meta["rowsWritten"], smallRows, meta)
	}
	emit("put", map[string]any{"name": name, "put_result": meta})
}

func checkGet(ctx context.Context, client flight.Client, name string) {
	info, ticket, err := ticketFor(ctx, client, name)
	if err != nil {
		fail("get", "%v", err)
	}
	if info.GetTotalRecords() != smallRows {
		fail("get", "FlightInfo total_records %d, want %d", info.GetTotalRecords(), smallRows)
	}
	if p := info.GetFlightDescriptor().GetPath(); len(p) == 0 || p[0] != name {
		fail("get", "FlightInfo descriptor path %q, want [%s …]", p, name)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	stream, err := client.DoGet(ctx, ticket)
	if err != nil {
		fail("get", "DoGet: %s", describe(err))
	}
	next := int64(1)
	schema, batches, err := readAll(stream, func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 2 {
			return fmt.Errorf("batch has %d columns, want 2", rec.NumCols())
		}
		xs, ok := rec.Column(0).(*array.Int64)
		if !ok {
			return fmt.Errorf("column x is %s, want int64", rec.Column(0).DataType())
		}
		ss, ok := rec.Column(1).(*array.String)
		if !ok {
			return fmt.Errorf("column s is %s, want utf8", rec.Column(1).DataType())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			if xs.IsNull(i) || xs.Value(i) != next {
				return fmt.Errorf("row %d: x = %v, want %d", next-1, xs.ValueStr(i), next)
			}
			want, valid := smallValue(next)
			if ss.IsValid(i) != valid || (valid && ss.Value(i) != want) {
				return fmt.Errorf("row %d: s = %q (valid %v), want %q (valid %v)", next-1, ss.ValueStr(i), ss.IsValid(i), want, valid)
			}
			next++
		}
		return nil
	})
	if err != nil {
		fail("get", "DoGet: %s", describe(err))
	}
	if got := next - 1; got != smallRows {
		fail("get", "DoGet returned %d rows, want %d", got, smallRows)
	}
	if schema.Field(0).Name != "x" || schema.Field(1).Name != "s" {
		fail("get", "schema %s, want x, s", schema)
	}
	emit("get", map[string]any{"rows": next - 1, "batches": batches, "schema": schema.String(), "ticket": string(ticket.GetTicket())})
}

func checkList(ctx context.Context, client flight.Client, name string) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	stream, err := client.ListFlights(ctx, &flight.Criteria{})
	if err != nil {
		fail("list", "ListFlights: %s", describe(err))
	}
	listed, found := 0, false
	var bucket string
	for {
		info, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("list", "ListFlights: %s", describe(err))
		}
		listed++
		p := info.GetFlightDescriptor().GetPath()
		if len(p) > 0 && p[0] == name {
			found = true
			if len(p) > 1 {
				bucket = p[1]
			}
			if info.GetTotalRecords() != smallRows {
				fail("list", "listed %s with total_records %d, want %d", name, info.GetTotalRecords(), smallRows)
			}
		}
	}
	if !found {
		fail("list", "%s is not among the %d frames ListFlights returned", name, listed)
	}
	emit("list", map[string]any{"found": true, "listed": listed, "bucket": bucket})
}

// expectNotFound fails the not_found check unless err is NotFound and the trailer carries Hangar's
// JSON detail with code NOT_FOUND; it returns that detail.
func expectNotFound(call string, err error, trailer metadata.MD) map[string]any {
	if status.Code(err) != codes.NotFound {
		fail("not_found", "%s: want NotFound, got %s", call, describe(err))
	}
	detail, derr := errorDetail(trailer)
	if derr != nil {
		fail("not_found", "%s: %v", call, derr)
	}
	if detail["code"] != "NOT_FOUND" {
		fail("not_found", "%s: %s detail code %v, want NOT_FOUND (%v)", call, errorTrailer, detail["code"], detail)
	}
	return detail
}

func checkNotFound(ctx context.Context, client flight.Client) {
	// GetFlightInfo on a missing frame: the unary call fails with NotFound and the detail trailer.
	var trailer metadata.MD
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	_, err := client.GetFlightInfo(cctx, pathDescriptor(missingFrame), grpc.Trailer(&trailer))
	cancel()
	infoDetail := expectNotFound(fmt.Sprintf("GetFlightInfo(PATH [%s])", missingFrame), err, trailer)
	infoMessage := status.Convert(err).Message()

	// DoGet with a ticket naming the missing frame (the ticket Hangar would have put in its endpoint).
	trailer = nil
	cctx, cancel = context.WithTimeout(ctx, callTimeout)
	defer cancel()
	raw, _ := json.Marshal(map[string]any{"name": missingFrame})
	stream, err := client.DoGet(cctx, &flight.Ticket{Ticket: raw}, grpc.Trailer(&trailer))
	if err == nil {
		_, _, err = readAll(stream, func(arrow.RecordBatch) error { return nil })
		if len(trailer) == 0 {
			trailer = stream.Trailer()
		}
	}
	getDetail := expectNotFound(fmt.Sprintf("DoGet(%s)", raw), err, trailer)
	emit("not_found", map[string]any{
		"code":                status.Code(err).String(),
		"get_flight_info":     map[string]any{"message": infoMessage, "detail": infoDetail},
		"do_get":              map[string]any{"message": status.Convert(err).Message(), "detail": getDetail},
		"trailer_keys_do_get": keys(trailer),
	})
}

func keys(md metadata.MD) []string {
	out := make([]string, 0, len(md))
	for k := range md {
		out = append(out, k)
	}
	return out
}

func checkPing(ctx context.Context, client flight.Client, check string) {
	body, err := ping(ctx, client)
	if err != nil {
		fail(check, "DoAction ping: %s", describe(err))
	}
	if body != "pong" {
		fail(check, "ping answered %q, want \"pong\"", body)
	}
	emit(check, map[string]any{"body": body})
}

func putBig(ctx context.Context, client flight.Client, name string, rows int64) {
	start := time.Now()
	var at int64
	meta, _, err := put(ctx, client, pathDescriptor(name), bigSchema, func() arrow.RecordBatch {
		if at >= rows {
			return nil
		}
		n := min(int64(bigBatchRows), rows-at)
		rec := bigBatch(at, n)
		at += n
		return rec
	})
	if err != nil {
		fail("put_big", "%v", err)
	}
	if rw, _ := meta["rowsWritten"].(float64); int64(rw) != rows {
		fail("put_big", "PutResult rowsWritten %v, want %d (%v)", meta["rowsWritten"], rows, meta)
	}
	emit("put_big", map[string]any{"name": name, "rows": rows, "seconds": time.Since(start).Seconds()})
}

// getBig reads the whole big frame and checks every value.
func getBig(ctx context.Context, client flight.Client, ticket *flight.Ticket, rows int64, check string) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	stream, err := client.DoGet(ctx, ticket)
	if err != nil {
		fail(check, "DoGet: %s", describe(err))
	}
	var next int64
	_, batches, err := readAll(stream, func(rec arrow.RecordBatch) error {
		is := rec.Column(0).(*array.Int64).Int64Values()
		vs := rec.Column(1).(*array.Float64).Float64Values()
		for k := range is {
			if is[k] != next || vs[k] != float64(next)*0.5 {
				return fmt.Errorf("row %d: (%d, %v)", next, is[k], vs[k])
			}
			next++
		}
		return nil
	})
	if err != nil {
		fail(check, "DoGet: %s", describe(err))
	}
	if next != rows {
		fail(check, "DoGet returned %d rows, want %d", next, rows)
	}
	emit(check, map[string]any{"rows": next, "batches": batches, "seconds": time.Since(start).Seconds()})
}

// checkDeadline: a DoGet of the big frame with a 1 ms deadline fails with DeadlineExceeded.
func checkDeadline(ctx context.Context, client flight.Client, ticket *flight.Ticket) {
	dctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	start := time.Now()
	rows := int64(0)
	stream, err := client.DoGet(dctx, ticket)
	stage := "DoGet"
	if err == nil {
		stage = "read"
		_, _, err = readAll(stream, func(rec arrow.RecordBatch) error { rows += rec.NumRows(); return nil })
	}
	if err == nil {
		fail("deadline", "a DoGet with a 1 ms deadline read all %d rows without error", rows)
	}
	if status.Code(err) != codes.DeadlineExceeded {
		fail("deadline", "want DeadlineExceeded, got %s (at %s, after %d rows)", describe(err), stage, rows)
	}
	emit("deadline", map[string]any{"code": status.Code(err).String(), "message": status.Convert(err).Message(),
		"stage": stage, "rows_before_error": rows, "seconds": time.Since(start).Seconds()})
}

// checkDeadlineMidStream: the deadline expires while the client holds an open DoGet it stopped
// reading (the server is blocked on flow control); the call ends with DeadlineExceeded.
func checkDeadlineMidStream(ctx context.Context, client flight.Client, ticket *flight.Ticket) {
	dctx, cancel := context.WithTimeout(ctx, midStreamAfter)
	defer cancel()
	stream, err := client.DoGet(dctx, ticket)
	if err != nil {
		fail("deadline_midstream", "DoGet: %s", describe(err))
	}
	rows := int64(0)
	first := true
	_, _, err = readAll(stream, func(rec arrow.RecordBatch) error {
		rows += rec.NumRows()
		if first {
			first = false
			<-dctx.Done()
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	})
	if err == nil {
		fail("deadline_midstream", "the DoGet read all %d rows after its deadline passed", rows)
	}
	if status.Code(err) != codes.DeadlineExceeded {
		fail("deadline_midstream", "want DeadlineExceeded, got %s (after %d rows)", describe(err), rows)
	}
	emit("deadline_midstream", map[string]any{"code": status.Code(err).String(), "message": status.Convert(err).Message(), "rows_before_error": rows})
}

func cleanup(ctx context.Context, client flight.Client, names ...string) {
	for _, name := range names {
		if _, err := action(ctx, client, "delete", map[string]any{"name": name}); err != nil {
			fail("cleanup", "delete %s: %s", name, describe(err))
		}
	}
	emit("cleanup", map[string]any{"deleted": names})
}

func main() {
	addr := flag.String("addr", "", "Hangar address, host:port (required)")
	user := flag.String("user", "", "user name: authenticate with AuthenticateBasicToken (needs -password)")
	password := flag.String("password", "", "password for -user")
	bigRows := flag.Int64("big-rows", 3_000_000, "rows of the frame used by the deadline checks (16 bytes each)")
	flag.Parse()
	if *addr == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: goclient -addr HOST:PORT [-user U -password P] [-big-rows N]")
		os.Exit(2)
	}
	if (*user == "") != (*password == "") {
		fmt.Fprintln(os.Stderr, "goclient: -user and -password go together")
		os.Exit(2)
	}

	client, err := flight.NewClientWithMiddleware(*addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("connect", "%v", err)
	}
	defer client.Close()

	ctx := context.Background()
	if *user != "" {
		ctx = checkAuth(client, *user, *password)
	}

	name := randomName("go_")
	checkPut(ctx, client, name)
	checkGet(ctx, client, name)
	checkList(ctx, client, name)
	checkNotFound(ctx, client)
	checkPing(ctx, client, "ping")

	big := name + "_big"
	putBig(ctx, client, big, *bigRows)
	_, bigTicket, err := ticketFor(ctx, client, big)
	if err != nil {
		fail("put_big", "%v", err)
	}
	checkDeadline(ctx, client, bigTicket)
	checkPing(ctx, client, "ping_after_deadline")
	checkDeadlineMidStream(ctx, client, bigTicket)
	checkPing(ctx, client, "ping_after_midstream")
	getBig(ctx, client, bigTicket, *bigRows, "get_big_after_deadlines")
	cleanup(ctx, client, name, big)
	emit("done", map[string]any{"authenticated": *user != ""})
}
