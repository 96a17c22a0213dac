-- Argo CD health of a cutover.dev Release (resource.customizations.health.cutover.dev_Release).
-- Lua 5.1 as gopher-lua runs it in Argo CD. It reads what the operator writes:
-- status.phase, the kstatus conditions (Ready, Reconciling, Stalled) and
-- observedGeneration, and agrees with kstatus (Flux) wherever kstatus has a
-- word for it; Suspended (spec.paused) has no kstatus counterpart.
local hs = {}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function says(c)
  if c == nil then
    return ""
  end
  return (c.reason or "") .. ": " .. (c.message or "")
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to pick up the Release"
  return hs
end
-- A status written for an older spec says nothing about the current one.
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to act on generation " .. generation
  return hs
end

local phase = status.phase
local ready = condition("Ready")
local stalled = condition("Stalled")
local version = obj.spec.version or ""

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = phase .. " (" .. says(stalled) .. ")"
  return hs
end
if phase == "Failed" or phase == "RolledBack" then
  hs.status = "Degraded"
  hs.message = phase .. " (" .. says(ready) .. ")"
  return hs
end
if phase == "Succeeded" then
  if ready ~= nil and ready.status == "True" then
    hs.status = "Healthy"
    hs.message = version .. " serves all traffic (" .. says(ready) .. ")"
  elseif ready ~= nil and ready.reason == "SlotUnavailable" then
    -- The rollout is done but the active slot does not fully serve it.
    hs.status = "Degraded"
    hs.message = says(ready)
  else
    hs.status = "Progressing"
    hs.message = phase .. " (" .. says(ready) .. ")"
  end
  return hs
end
-- spec.paused holds traffic at the current step until someone resumes it; the
-- other phases (a gate, deploying, a rollback) go on regardless of it.
if obj.spec.paused == true and phase == "Shifting" then
  hs.status = "Suspended"
  hs.message = "paused at " .. (status.canaryWeight or 0) .. "% in " .. phase .. " (spec.paused)"
  return hs
end
-- A rollout step or a gate (Pending, AwaitingApproval, WaitingForWindow): the
-- Ready condition says which and what would open it.
hs.status = "Progressing"
hs.message = phase .. " (" .. says(ready) .. ")"
return hs
