// Command flightsql drives a running Hangar server with arrow-go's stock Flight SQL client
// (github.com/apache/arrow-go/v18/arrow/flight/flightsql) and prints one JSON line per check:
// SqlInfo, database schemas, tables with their schemas, a query, a prepared statement with a bound
// parameter, and a bulk ingest. On the first failure it prints {"check", "ok": false, "error"} and
// exits 1.
//
//	go run ./flightsql -addr 127.0.0.1:PORT -bucket BUCKET
//
// It is used by tests/interop/test_flight_sql_go.py.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

var mem = memory.NewGoAllocator()

func emit(check string, fields map[string]any) {
	line := map[string]any{"check": check, "ok": true}
	for k, v := range fields {
		line[k] = v
	}
	out, _ := json.Marshal(line)
	fmt.Println(string(out))
}

func fail(check string, err error) {
	out, _ := json.Marshal(map[string]any{"check": check, "ok": false, "error": err.Error()})
	fmt.Println(string(out))
	fmt.Fprintln(os.Stderr, check+": "+err.Error())
	os.Exit(1)
}

// fetch reads every record of a FlightInfo's endpoints.
func fetch(ctx context.Context, client *flightsql.Client, info *flight.FlightInfo) ([]arrow.RecordBatch, error) {
	var batches []arrow.RecordBatch
	for _, endpoint := range info.Endpoint {
		reader, err := client.DoGet(ctx, endpoint.Ticket)
		if err != nil {
			return nil, err
		}
		for reader.Next() {
			batch := reader.RecordBatch()
			batch.Retain()
			batches = append(batches, batch)
		}
		err = reader.Err()
		reader.Release()
		if err != nil {
			return nil, err
		}
	}
	return batches, nil
}

// strings reads a string column of every batch.
func stringsOf(batches []arrow.RecordBatch, column int) []string {
	var values []string
	for _, batch := range batches {
		col := batch.Column(column).(*array.String)
		for i := 0; i < col.Len(); i++ {
			values = append(values, col.Value(i))
		}
	}
	return values
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8815", "host:port of the Hangar server")
	bucket := flag.String("bucket", "default", "the bucket of unqualified table names")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "bucket", *bucket)

	client, err := flightsql.NewClient(*addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("connect", err)
	}
	defer client.Close()

	check := "sql_info"
	info, err := client.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, flightsql.SqlInfoFlightSqlServerReadOnly})
	if err != nil {
		fail(check, err)
	}
	batches, err := fetch(ctx, client, info)
	if err != nil {
		fail(check, err)
	}
	values := map[string]any{}
	for _, batch := range batches {
		names := batch.Column(0).(*array.Uint32)
		union := batch.Column(1).(*array.DenseUnion)
		for i := 0; i < int(batch.NumRows()); i++ {
			child := union.Field(union.ChildID(i))
			offset := int(union.ValueOffset(i))
			switch c := child.(type) {
			case *array.String:
				values[fmt.Sprint(names.Value(i))] = c.Value(offset)
			case *array.Boolean:
				values[fmt.Sprint(names.Value(i))] = c.Value(offset)
			}
		}
	}
	emit(check, map[string]any{"values": values})

	check = "db_schemas"
	info, err = client.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{})
	if err != nil {
		fail(check, err)
	}
	if batches, err = fetch(ctx, client, info); err != nil {
		fail(check, err)
	}
	emit(check, map[string]any{"values": stringsOf(batches, 1)})

	check = "tables"
	pattern := *bucket
	info, err = client.GetTables(ctx, &flightsql.GetTablesOpts{DbSchemaFilterPattern: &pattern, IncludeSchema: true})
	if err != nil {
		fail(check, err)
	}
	if batches, err = fetch(ctx, client, info); err != nil {
		fail(check, err)
	}
	var columns []string
	for _, batch := range batches {
		schemas := batch.Column(4).(*array.Binary)
		for i := 0; i < schemas.Len(); i++ {
			schema, err := flight.DeserializeSchema(schemas.Value(i), mem)
			if err != nil {
				fail(check, err)
			}
			for _, field := range schema.Fields() {
				columns = append(columns, field.Name)
			}
		}
	}
	emit(check, map[string]any{"values": stringsOf(batches, 2), "columns": columns})

	check = "query"
	info, err = client.Execute(ctx, "SELECT sym, count(*) AS n FROM trades GROUP BY sym ORDER BY sym")
	if err != nil {
		fail(check, err)
	}
	if batches, err = fetch(ctx, client, info); err != nil {
		fail(check, err)
	}
	var counts []int64
	for _, batch := range batches {
		col := batch.Column(1).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			counts = append(counts, col.Value(i))
		}
	}
	emit(check, map[string]any{"syms": stringsOf(batches, 0), "counts": counts})

	check = "prepared"
	prepared, err := client.Prepare(ctx, "SELECT count(*) AS n FROM trades WHERE qty >= ?")
	if err != nil {
		fail(check, err)
	}
	builder := array.NewInt64Builder(mem)
	builder.Append(50)
	param := builder.NewArray()
	binding := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "1", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{param}, 1)
	prepared.SetParameters(binding)
	info, err = prepared.Execute(ctx)
	if err != nil {
		fail(check, err)
	}
	if batches, err = fetch(ctx, client, info); err != nil {
		fail(check, err)
	}
	if err = prepared.Close(ctx); err != nil {
		fail(check, err)
	}
	emit(check, map[string]any{"count": batches[0].Column(0).(*array.Int64).Value(0), "parameters": prepared.ParameterSchema().NumFields()})

	check = "ingest"
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rows := array.NewInt64Builder(mem)
	rows.AppendValues([]int64{1, 2, 3}, nil)
	batch := array.NewRecordBatch(schema, []arrow.Array{rows.NewArray()}, 3)
	reader, err := array.NewRecordReader(schema, []arrow.RecordBatch{batch})
	if err != nil {
		fail(check, err)
	}
	written, err := client.ExecuteIngestWithIPC(ctx, reader, &flightsql.ExecuteIngestOpts{
		TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
			IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
		},
		Table:  "go_ingested",
		Schema: bucket,
	}, []ipc.Option{ipc.WithAllocator(mem)})
	if err != nil {
		fail(check, err)
	}
	emit(check, map[string]any{"rows": written})
	emit("done", nil)
}
