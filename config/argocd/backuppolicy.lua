-- Argo CD health of a cutover.dev BackupPolicy (resource.customizations.health.cutover.dev_BackupPolicy).
-- Lua 5.1 as gopher-lua runs it in Argo CD. Besides the kstatus trio it reads
-- the backup conditions: a failed backup or restore drill, a broken or lagging
-- WAL chain and a replica behind all make it Degraded, since each means a
-- restore may not get back what it should.
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
if status == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to pick up the BackupPolicy"
  return hs
end
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to act on generation " .. generation
  return hs
end

local ready = condition("Ready")
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = says(stalled)
  return hs
end
-- WalStreaming=False with reason Suspended is what spec.suspend asks for.
for _, kind in ipairs({ "LastBackupSucceeded", "Verified", "WalStreaming", "Replicated" }) do
  local c = condition(kind)
  if c ~= nil and c.status == "False" and c.reason ~= "Suspended" then
    hs.status = "Degraded"
    hs.message = kind .. " is False (" .. says(c) .. ")"
    return hs
  end
end
if ready ~= nil and ready.status == "True" then
  if obj.spec.suspend == true then
    hs.status = "Suspended"
  else
    hs.status = "Healthy"
  end
  hs.message = says(ready)
  return hs
end
hs.status = "Progressing"
hs.message = says(ready)
return hs
