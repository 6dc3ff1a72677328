// Parquet fixtures for ParquetTest, written by an independent parquet writer (hyparquet-writer, pure JavaScript):
// the first 20 demo pairs in the column layout of trl-lib/ultrafeedback_binarized (chosen/rejected as lists of
// {content, role} structs holding the user turn and the answer, score_chosen, score_rejected) and as prompt/chosen/rejected strings, each
// with its JSONL twin holding the same objects.
//
//   npm install hyparquet-writer@0.17.0 && node src/test/js/parquet_fixtures.mjs   (from the repository root)
import fs from 'fs'
import { parquetWriteBuffer } from 'hyparquet-writer'

const out = 'src/test/resources/golden/data/parquet/'
const rows = fs.readFileSync('src/main/resources/org/orpo4j/demo/train.jsonl', 'utf8').trim().split('\n')
  .slice(0, 20).map((line) => JSON.parse(line))

const conversations = rows.map((r, i) => {
  const user = r.prompt.filter((m) => m.role === 'user').map((m) => m.content).join('\n')
  const turn = (answer) => [{ content: user, role: 'user' }, { content: answer, role: 'assistant' }]
  return { chosen: turn(r.chosen[0].content), rejected: turn(r.rejected[0].content),
    score_chosen: 8 + (i % 3) * 0.5, score_rejected: 2 + (i % 4) * 0.25 }
})
const strings = rows.map((r) => ({ prompt: r.prompt.filter((m) => m.role === 'user').map((m) => m.content).join('\n'),
  chosen: r.chosen[0].content, rejected: r.rejected[0].content }))

const text = (name) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' })
const messages = (name) => [
  { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
  text('content'), text('role'),
]
const column = (objects, name) => ({ name, data: objects.map((o) => o[name]) })

function write(file, objects, schema) {
  const names = Object.keys(objects[0])
  const buffer = parquetWriteBuffer({ columnData: names.map((n) => column(objects, n)), schema })
  fs.writeFileSync(out + file + '.parquet', Buffer.from(buffer))
  fs.writeFileSync(out + file + '.jsonl', objects.map((o) => JSON.stringify(o)).join('\n') + '\n')
}

write('ultrafeedback_layout', conversations, [{ name: 'root', num_children: 4 },
  ...messages('chosen'), ...messages('rejected'),
  { name: 'score_chosen', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'score_rejected', type: 'DOUBLE', repetition_type: 'OPTIONAL' }])
write('strings', strings, [{ name: 'root', num_children: 3 }, text('prompt'), text('chosen'), text('rejected')])
console.log('wrote', rows.length, 'rows twice into', out)
