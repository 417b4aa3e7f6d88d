import { CapacityPanel } from './CapacityPanel.tsx';
import { CloudHealth } from './CloudHealth.tsx';
import { HistoryPanel } from './HistoryPanel.tsx';
import { HostPanel } from './HostPanel.tsx';
import { RunsByState } from './RunsByState.tsx';
import './dashboard.css';

/** The box at a glance: capacity, the host now and over time, runs by state, cloud health; all live. */
export function DashboardPage() {
  return (
    <section aria-labelledby="dashboard-title" className="dashboard">
      <h1 id="dashboard-title">Dashboard</h1>
      <div className="dashboard-grid">
        <CapacityPanel />
        <HostPanel />
        <RunsByState />
        <CloudHealth />
        <HistoryPanel />
      </div>
    </section>
  );
}
