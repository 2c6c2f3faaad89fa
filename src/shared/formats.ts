// Which formats behave alike: the few questions the engine, the worker and the UI ask of a format.
import type { Job } from './job'

export type InputFormat = Job['input']['format']
export type OutputFormat = Job['output']['format']

/** Input formats whose records are JSON objects: no header row, columns unknown until read. */
export function isObjectInput(format: InputFormat): boolean {
  return format === 'jsonl' || format === 'json'
}

/** Input formats with a header row that names the columns (unless input.header is false). */
export function hasHeaderRow(format: InputFormat): boolean {
  return format === 'csv' || format === 'tsv' || format === 'xlsx'
}

/** Output formats written as columns, which need the list of columns up front. */
export function needsColumns(format: OutputFormat): boolean {
  return format === 'csv' || format === 'tsv' || format === 'xlsx' || format === 'parquet'
}

/**
 * A file name without a compression suffix: orders.csv.gz is orders.csv. A zip's own name is
 * named like a data file already (orders.zip, whose stem is orders, as that of orders.csv), so
 * only a zip named after the files it holds loses its suffix: orders.csv.zip is orders.csv.
 */
export function withoutCompressionSuffix(name: string): string {
  return name.replace(/\.(gz|gzip)$/i, '').replace(/(\.(?:csv|tsv|txt|jsonl|ndjson|json))\.zip$/i, '$1')
}
