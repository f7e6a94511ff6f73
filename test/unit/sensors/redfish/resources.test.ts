import { describe, expect, it } from 'vitest';
import { redfishMessage, sameOrigin } from '../../../../src/sensors/redfish/client.js';
import { chassisId, environmentPower, isoDurationMs, linkOf, memberPaths, odataPath, powerControlPower, sensingIntervalMs } from '../../../../src/sensors/redfish/resources.js';

describe('Redfish resources as a BMC may answer them', () => {
  it('follows links only to paths on the BMC itself', () => {
    expect(odataPath({ '@odata.id': '/redfish/v1/Chassis/1U' })).toBe('/redfish/v1/Chassis/1U');
    for (const bad of ['//evil.example/redfish', 'https://evil.example/redfish/v1', 'redfish/v1', '/a b', '/a\\b', 42, null]) {
      expect(odataPath({ '@odata.id': bad }), String(bad)).toBeNull();
    }
    expect(linkOf({ Chassis: { '@odata.id': '/redfish/v1/Chassis' } }, 'Chassis')).toBe('/redfish/v1/Chassis');
    expect(linkOf({ Chassis: '/redfish/v1/Chassis' }, 'Chassis')).toBeNull();
    expect(sameOrigin('https://bmc:8443', '/redfish/v1')).toBe('https://bmc:8443/redfish/v1');
    expect(() => sameOrigin('https://bmc', '//evil.example/x')).toThrow(/linked to https:\/\/evil\.example, not itself: refused/);
  });

  it('lists the members of a collection, and refuses what is none', () => {
    expect(memberPaths({ Members: [{ '@odata.id': '/redfish/v1/Chassis/A' }, { nope: 1 }, { '@odata.id': '//x/y' }] })).toEqual(['/redfish/v1/Chassis/A']);
    expect(memberPaths({ members: [] })).toBeNull();
    expect(memberPaths([1, 2])).toBeNull();
    expect(chassisId({ Id: 'System.Embedded.1' }, '/redfish/v1/Chassis/x')).toBe('System.Embedded.1');
    expect(chassisId({}, '/redfish/v1/Chassis/Blade7/')).toBe('Blade7');
  });

  it('reads PowerWatts.Reading and the first PowerControl entry with a reading, numbers or numeric strings only', () => {
    expect(environmentPower({ PowerWatts: { Reading: 412.5, DataSourceUri: '/redfish/v1/Chassis/1U/Sensors/TotalPower' } })).toEqual({ ok: true, watts: 412.5, sensorPath: '/redfish/v1/Chassis/1U/Sensors/TotalPower' });
    expect(environmentPower({ PowerWatts: { Reading: '388' } })).toEqual({ ok: true, watts: 388, sensorPath: null });
    expect(environmentPower({ PowerWatts: { Reading: 'NaN' } })).toEqual({ ok: false, problem: 'PowerWatts.Reading is not a number: "NaN"' });
    expect(environmentPower({ PowerWatts: { Reading: -1 } })).toEqual({ ok: false, problem: 'PowerWatts.Reading: -1 W is not a power' });
    expect(environmentPower({ PowerWatts: { Reading: 2e5 } })).toMatchObject({ ok: false, problem: expect.stringMatching(/beyond the 100 kW/) });
    expect(environmentPower({ TemperatureCelsius: {} })).toEqual({ ok: false, problem: 'no PowerWatts in its EnvironmentMetrics' });
    expect(powerControlPower({ PowerControl: [{ Name: 'no reading' }, { PowerConsumedWatts: 250 }, { PowerConsumedWatts: 100 }] })).toEqual({ ok: true, watts: 250, sensorPath: null });
    expect(powerControlPower({ PowerControl: [{ PowerConsumedWatts: { value: 3 } }] })).toEqual({ ok: false, problem: 'PowerControl[0].PowerConsumedWatts is not a number: {"value":3}' });
    expect(powerControlPower({ PowerControl: [] })).toEqual({ ok: false, problem: 'no PowerControl in its Power resource' });
  });

  it('reads ISO 8601 durations as Redfish writes SensingInterval', () => {
    expect(isoDurationMs('PT5S')).toBe(5000);
    expect(isoDurationMs('PT0.5S')).toBe(500);
    expect(isoDurationMs('PT1M30S')).toBe(90_000);
    expect(isoDurationMs('P1DT2H')).toBe(93_600_000);
    for (const bad of ['P', 'PT', '5S', 'PT-1S', 'soon']) expect(isoDurationMs(bad), bad).toBeNull();
    expect(sensingIntervalMs({ SensingInterval: 'PT10S' })).toBe(10_000);
    expect(sensingIntervalMs({ SensingInterval: 10 })).toBeNull();
  });

  it('gives the message of a Redfish error body', () => {
    expect(redfishMessage({ error: { code: 'Base.1.8.GeneralError', message: 'A general error', '@Message.ExtendedInfo': [{ Message: 'Invalid username or password.' }] } })).toBe('Invalid username or password.');
    expect(redfishMessage({ error: { message: 'plain' } })).toBe('plain');
    expect(redfishMessage('<html>')).toBeNull();
  });
});
