/** Renders the first rows of a table as aligned text for a person at a terminal. */
import { type DataType, type Table, Type } from 'apache-arrow';
import { cellFormatter } from '../format/value-format.js';

/** Options of {@link renderPreview}. */
export interface PreviewOptions {
  /** Rows to show (default 20). */
  readonly rows?: number;
  /** Widest line allowed; columns that do not fit are left out (default: unlimited). */
  readonly width?: number;
  /** Widest cell (default 32 characters). */
  readonly cellWidth?: number;
}

const NUMERIC = new Set<Type>([Type.Int, Type.Float, Type.Decimal]);

function clip(text: string, width: number): string {
  const flat = text.replace(/\r?\n/g, '\\n').replace(/\t/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function isNumeric(type: DataType): boolean {
  return NUMERIC.has(type.typeId);
}

/**
 * Column names over their types, then the rows, then a line with the totals. `totalRows` is the
 * frame's full row count, which may exceed the rows the table holds.
 */
export function renderPreview(table: Table, totalRows: number, options: PreviewOptions = {}): string {
  const limit = Math.min(options.rows ?? 20, table.numRows);
  const cellWidth = options.cellWidth ?? 32;
  const head = table.slice(0, limit);
  const columns = table.schema.fields.map((field, index) => {
    const cells: string[] = [];
    for (const batch of head.batches) {
      const format = cellFormatter(batch.getChildAt(index)!);
      for (let row = 0; row < batch.numRows; row++) cells.push(clip(format(row) ?? 'null', cellWidth));
    }
    const title = clip(field.name, cellWidth);
    const type = clip(String(field.type), cellWidth);
    const width = Math.max(title.length, type.length, ...cells.map((cell) => cell.length), 1);
    return { title, type, cells, width, right: isNumeric(field.type) };
  });

  const shown: typeof columns = [];
  let lineWidth = 0;
  for (const column of columns) {
    const extra = (shown.length > 0 ? 2 : 0) + column.width;
    if (options.width !== undefined && shown.length > 0 && lineWidth + extra > options.width) break;
    shown.push(column);
    lineWidth += extra;
  }
  const pad = (text: string, column: (typeof columns)[number]): string =>
    column.right ? text.padStart(column.width) : text.padEnd(column.width);
  const line = (pick: (column: (typeof columns)[number]) => string): string =>
    shown.map((column) => pad(pick(column), column)).join('  ').trimEnd();

  const lines = [line((c) => c.title), line((c) => c.type), shown.map((c) => '─'.repeat(c.width)).join('  ')];
  for (let row = 0; row < limit; row++) lines.push(line((c) => c.cells[row] ?? ''));
  const hidden = columns.length - shown.length;
  const rowsText = `${limit === totalRows ? totalRows : `${limit} of ${totalRows}`} row${totalRows === 1 ? '' : 's'}`;
  const columnsText = `${columns.length} column${columns.length === 1 ? '' : 's'}${hidden > 0 ? `, ${hidden} not shown` : ''}`;
  lines.push(`(${rowsText}, ${columnsText})`);
  return `${lines.join('\n')}\n`;
}
