// A quantity as people read it, the exact Kubernetes value in a tooltip.
import { Tooltip } from '@mui/material'
import { formatBytes, formatCores } from './quantity'

export function Cores({ value, unit = true }: { value: string | undefined; unit?: boolean }) {
  const text = formatCores(value)
  return <Tooltip title={`exactly ${value ?? '0'}`}><span data-exact={value}>{text}{unit ? (text === '1' ? ' core' : ' cores') : ''}</span></Tooltip>
}

export function Bytes({ value }: { value: string | undefined }) {
  return <Tooltip title={`exactly ${value ?? '0'}`}><span data-exact={value}>{formatBytes(value)}</span></Tooltip>
}
